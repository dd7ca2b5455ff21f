"""Seeded, labelled sample listings for backtesting the reference bundles.

Brands, phrases, seller ids, image hashes, notice ids, noticed listing ids and reference prices
come from the reference bundles' lists, products and wording from the tables of
backtest.sample_tables, so the rows exercise the rules the way marketplace traffic does: mostly
clean listings, counterfeits the rules catch, counterfeits that evade them, and clean listings
that look suspicious.
`python -m modctl.backtest.sample --rows N --out FILE` writes them as JSON lines (FILE.jsonl) or
as Parquet typed as the reference modctl.yaml declares its fields (FILE.parquet, what
`backtest --engine spark` reads).
"""

from __future__ import annotations

import argparse
import json
import random
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

from modctl.backtest import sample_tables as tables
from modctl.backtest.sample_tables import CURRENCY, REGIONS, Item, Product

LOCAL_SLANG_REGIONS = frozenset({"MY", "ID", "PH", "VN"})  # where local-replica-phrasing applies
ORDER = (
    "id",
    "region",
    "title",
    "description",
    "price",
    "currency",
    "brand",
    "category",
    "seller",
    "image_phash",
    "notice",
    "label",
)
INFRINGING, CLEAN = "infringing", "clean"
LABEL_NOISE = 0.02
UNCATEGORISED = 0.03
# The share of listings named in a verified notice whose notice arrived outside the portal (as
# long as the noticed-listings ids of their region last: each id names one listing).
OUTSIDE_PORTAL = 0.25


def _fullwidth(text: str) -> str:
    """ASCII letters and signs as their full-width forms, which NFKC folds back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


Seller = tuple[str, int, tuple[str, ...]]  # id, ipr_strikes, authorized_brands
Row = dict[str, Any]


class _Generator:
    """Per-seed state: the random stream and the seller pools every scenario draws from."""

    def __init__(self, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        # Which notices came outside the portal is drawn from a stream of its own, so that every
        # other listing is the one the seed gave before such notices were drawn.
        self.outside = random.Random(f"noticed-listings/{seed}")
        self.noticed = {
            r: [i for i in tables.NOTICED_LISTINGS if i.startswith(f"L-{r}-")] for r in REGIONS
        }
        self.ordinary: dict[str, list[Seller]] = {}
        self.repeat: dict[str, list[Seller]] = {}
        self.brand_authorized: dict[str, dict[str, list[Seller]]] = {}
        for region in REGIONS:
            ids = [f"S-{region}-{n}" for n in rng.sample(range(200000, 1000000), 2200)]
            ids = [i for i in ids if i not in tables.LISTED_SELLERS]
            strikes = rng.choices((0, 1, 2, 3), (0.88, 0.09, 0.02, 0.01), k=2000)
            self.ordinary[region] = [(i, s, ()) for i, s in zip(ids[:2000], strikes, strict=True)]
            self.repeat[region] = [(i, rng.randint(2, 5), ()) for i in ids[2000:2100]]
            others = iter(ids[2100:])
            self.brand_authorized[region] = {
                b: [(next(others), 0, (b, *self.other_brands(b))) for _ in range(3)]
                for b in tables.BRAND_AUTHORIZED
            }
        table: tuple[tuple[float, Callable[[str], Row]], ...] = (
            (52.0, self.plain),
            (7.0, self.genuine_authorized),
            (3.0, self.genuine_resale),
            (3.0, self.preloved_cheap),
            (3.0, self.homonym),
            (1.5, self.fullwidth_authorized),
            (1.5, self.scale_model),
            (2.0, self.compatible_accessory),
            (7.0, self.counterfeit_cheap),
            (4.5, self.replica_phrasing),
            (3.5, self.image_match),
            (4.0, self.brand_bait),
            (1.5, self.dupe),
            (4.5, self.notice),
            (2.5, self.repeat_infringer),
            (3.0, self.evasive),
        )
        self.scenarios = [scenario for _, scenario in table]
        self.cumulative = list(accumulate(weight for weight, _ in table))

    # ------------------------------------------------------------------ helpers

    def other_brands(self, brand: str) -> list[str]:
        """No or one more brand the seller is authorized for."""
        others = [b for b in tables.BRAND_AUTHORIZED if b != brand]
        return self.rng.sample(others, self.rng.randint(0, 1))

    def seller(self, pool: list[Seller]) -> dict[str, Any]:
        sid, strikes, brands = self.rng.choice(pool)
        found: dict[str, Any] = {"id": sid, "ipr_strikes": strikes}
        if brands:
            found["authorized_brands"] = list(brands)
        return found

    def listed_seller(self, region: str, brand: str, *, resellers: bool = False) -> dict[str, Any]:
        ids = tables.RESELLERS[region] if resellers else tables.AUTHORIZED[region]
        return {"id": self.rng.choice(ids), "ipr_strikes": 0, "authorized_brands": [brand]}

    def offer(self, title: str, category: str, price: float, region: str) -> Row:
        """A listing from an ordinary seller of `region`."""
        return {
            "title": title,
            "price": price,
            "category": category,
            "seller": self.seller(self.ordinary[region]),
        }

    def branded(
        self, product: Product, low: float, high: float, region: str, brand_p: float
    ) -> Row:
        """A listing of `product` from an ordinary seller at `low`..`high` x reference price."""
        brand, form, name, category, ref = product
        rng = self.rng
        row = self.offer(f"{form} {name}", category, round(ref * rng.uniform(low, high), 2), region)
        if rng.random() < brand_p:
            row["brand"] = brand
        return row

    def unbranded(self, region: str, low: float, high: float) -> Row:
        category, title = self.rng.choice(tables.UNBRANDED).split("|")
        return self.offer(title, category, round(self.rng.uniform(low, high), 2), region)

    def catalogue_item(self, line: Item, region: str) -> Row:
        category, title, low, high, brand = line
        row = self.offer(title, category, round(self.rng.uniform(low, high), 2), region)
        if brand:
            row["brand"] = brand
        return row

    def near_phash(self, low: int, high: int) -> str:
        """A listed counterfeit hash with `low`..`high` random bits flipped."""
        rng = self.rng
        value = rng.choice(tables.PHASHES)
        for bit in rng.sample(range(64), rng.randint(low, high)):
            value ^= 1 << bit
        return f"{value:016x}"

    # ------------------------------------------------------------------ clean scenarios

    def plain(self, region: str) -> Row:
        """Ordinary listing: no protected brand (some declare an unprotected one)."""
        row = self.catalogue_item(self.rng.choice(tables.GENERIC[region]), region)
        row["label"] = CLEAN
        return row

    def genuine_authorized(self, region: str) -> Row:
        """Genuine branded listing at full price from an official store or authorized seller."""
        rng = self.rng
        if rng.random() < 0.6:
            product = rng.choice(tables.PRODUCTS)
            seller = self.listed_seller(region, product[0])
        else:
            product = rng.choice(tables.PAIRED_PRODUCTS)
            seller = self.seller(self.brand_authorized[region][product[0]])
        row = self.branded(product, 0.85, 1.5, region, 0.9)
        row["seller"] = seller
        row["label"] = CLEAN
        return row

    def genuine_resale(self, region: str) -> Row:
        """Genuine branded listing at a normal price from an ordinary seller (grey import)."""
        row = self.branded(self.rng.choice(tables.PRODUCTS), 0.6, 1.3, region, 0.7)
        row["label"] = CLEAN
        return row

    def preloved_cheap(self, region: str) -> Row:
        """Genuine second-hand item priced low: clean, but it may trip the price rules."""
        rng = self.rng
        product = rng.choice(tables.RESOLD_PRODUCTS)
        row = self.branded(product, 0.15, 0.55, region, 0.8)
        row["title"] = rng.choice(tables.PRELOVED) + row["title"]
        if product[3] in tables.FASHION_CATEGORIES:
            row["category"] = rng.choice((product[3], "preloved-luxury"))
        row["description"] = rng.choice(
            ("Used a few times, receipt available.", "Condition 8/10, see photos.")
        )
        row["label"] = CLEAN
        return row

    def homonym(self, region: str) -> Row:
        """A brand word in an unrelated sense: Coach tour, Apple pie, Omega-3, Diorama."""
        row = self.catalogue_item(self.rng.choice(tables.HOMONYMS), region)
        row["label"] = CLEAN
        return row

    def fullwidth_authorized(self, region: str) -> Row:
        """Full-width brand name on a genuine listing from an authorized seller."""
        rng = self.rng
        if rng.random() < 0.7:
            product = rng.choice(tables.PRODUCTS)
            row = self.branded(product, 0.8, 1.3, region, 1.0)
            row["seller"] = self.listed_seller(region, product[0], resellers=True)
        else:
            product = rng.choice(tables.PAIRED_PRODUCTS)
            row = self.branded(product, 0.25, 1.1, region, 1.0)
            row["seller"] = self.seller(self.brand_authorized[region][product[0]])
        row["title"] = f"{_fullwidth(product[1])} {product[2]}"
        row["label"] = CLEAN
        return row

    def scale_model(self, region: str) -> Row:
        """A "1:1 scale" model or prop: copy-like wording on a lawful item."""
        row = self.catalogue_item(self.rng.choice(tables.SCALE_MODELS), region)
        row["label"] = CLEAN
        return row

    def compatible_accessory(self, region: str) -> Row:
        """Third-party accessory naming the device it fits."""
        row = self.catalogue_item(self.rng.choice(tables.COMPATIBLE), region)
        row["label"] = CLEAN
        return row

    # ------------------------------------------------------------------ infringing scenarios

    def counterfeit_cheap(self, region: str) -> Row:
        """Protected brand far below its reference price from an unknown seller."""
        rng = self.rng
        row = self.branded(rng.choice(tables.PRODUCTS), 0.04, 0.28, region, 0.85)
        row["title"] += rng.choice(tables.HYPE)
        if rng.random() < 0.5:
            row["description"] = rng.choice(tables.SELLER_PITCH)
        row["label"] = INFRINGING
        return row

    def replica_phrasing(self, region: str) -> Row:
        """Self-declared copy: replica, 1:1, AAA grade, mirror quality, or local slang."""
        rng = self.rng
        row = self.branded(rng.choice(tables.PRODUCTS), 0.03, 0.4, region, 0.5)
        local = region in LOCAL_SLANG_REGIONS and rng.random() < 0.5
        phrase = rng.choice(tables.LOCAL_REPLICA_PHRASES if local else tables.REPLICA_PHRASES)
        if rng.random() < 0.6:
            row["title"] += f" {phrase}"
        else:
            row["description"] = (
                f"{phrase[0].upper()}{phrase[1:]}, {rng.choice(tables.SELLER_PITCH).lower()}"
            )
        row["label"] = INFRINGING
        return row

    def image_match(self, region: str) -> Row:
        """Unbranded title, main image a few bits from a known counterfeit photo."""
        row = self.unbranded(region, 12, 90)
        row["image_phash"] = self.near_phash(0, 5)
        row["label"] = INFRINGING
        return row

    def brand_bait(self, region: str) -> Row:
        """Brand names as search bait: unrelated categories, stuffing phrases, brand lists."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.45:
            family, words = rng.choice(tables.BAIT_WORDS)
            category, template = rng.choice(tables.UNRELATED[family]).split("|")
            title = template.format(rng.choice(words))
            row = self.offer(title, category, round(rng.uniform(3, 25), 2), region)
        elif kind < 0.55:
            category, template = rng.choice(tables.UNRELATED["toy"]).split("|")
            title = template.format(rng.choice(tables.TOY_WORDS))
            row = self.offer(title, category, round(rng.uniform(2, 15), 2), region)
        elif kind < 0.75:
            row = self.unbranded(region, 5, 40)
            tags = rng.sample(tables.LIST_WORDS, rng.randint(3, 5))
            row["description"] = rng.choice(
                (f"Tags: {', '.join(tags)}", "Ready stock! " + " ".join(f"#{t}" for t in tags))
            )
        elif kind < 0.92:
            row = self.unbranded(region, 5, 40)
            phrase = rng.choice(tables.STUFFING_PHRASES)
            if rng.random() < 0.5:
                row["title"] += f" ({phrase})"
            else:
                row["description"] = (
                    f"{phrase.capitalize()}, {rng.choice(tables.SELLER_PITCH).lower()}"
                )
        else:
            row = self.unbranded(region, 5, 40)
            row["description"] = f"Ready stock! #ootd #{rng.choice(tables.LIST_WORDS)}"
        row["label"] = INFRINGING
        return row

    def dupe(self, region: str) -> Row:
        """Lookalike sold on the brand's name: "dupe", "inspired by"."""
        rng = self.rng
        _, form, name, category, _ = rng.choice(tables.FASHION_PRODUCTS)
        if rng.random() < 0.6:
            title = f"{form} {name} {rng.choice(tables.DUPE_PHRASES)}"
        else:
            title = f"Inspired by {form} {name}"
        row = self.offer(title, category, round(rng.uniform(10, 60), 2), region)
        row["label"] = INFRINGING
        return row

    def notice(self, region: str) -> Row:
        """Named in a rights-holder notice: verified (through the portal or outside it),
        disputed, pending or withdrawn."""
        rng = self.rng
        row = self.branded(rng.choice(tables.PRODUCTS), 0.3, 1.1, region, 0.6)
        kind = rng.random()
        counter = False
        if kind < 0.55:
            ids, label = [rng.choice(tables.VERIFIED_NOTICES)], INFRINGING
        elif kind < 0.72:
            ids, counter = [rng.choice(tables.VERIFIED_NOTICES)], True
            label = CLEAN if rng.random() < 0.5 else INFRINGING
        elif kind < 0.92:
            ids = [rng.choice(tables.PENDING_NOTICES)]
            label = INFRINGING if rng.random() < 0.65 else CLEAN
        else:
            ids, label = [f"RHN-2025-{rng.randint(1000, 3999):06d}"], CLEAN
        if rng.random() < 0.1:
            ids.append(rng.choice(tables.VERIFIED_NOTICES + tables.PENDING_NOTICES))
        row["notice"] = {"ids": ids, "counter_notice": counter}
        verified = ids[0] in tables.VERIFIED_NOTICES
        if verified and self.noticed[region] and self.outside.random() < OUTSIDE_PORTAL:
            # Named in a verified notice that came by e-mail: the listing's own id is on the
            # noticed-listings list, and the listing carries no notice id.
            row["id"] = self.noticed[region].pop(0)
            row["notice"] = {"counter_notice": counter}
        row["label"] = label
        return row

    def repeat_infringer(self, region: str) -> Row:
        """Branded listing from a seller with two or more upheld strikes."""
        rng = self.rng
        row = self.branded(rng.choice(tables.PRODUCTS), 0.3, 1.0, region, 0.7)
        row["seller"] = self.seller(self.repeat[region])
        row["label"] = INFRINGING if rng.random() < 0.75 else CLEAN
        return row

    def evasive(self, region: str) -> Row:
        """Counterfeit written to slip past the rules: misspelled brand, brand only in the brand
        field, no brand words at all, or a re-shot image."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.4:
            brand, _, name, category, ref = rng.choice(tables.MISSPELLABLE)
            row = self.branded(
                (brand, rng.choice(tables.MISSPELLED[brand]), name, category, ref),
                0.04,
                0.3,
                region,
                0.0,
            )
        elif kind < 0.65:
            product = rng.choice(tables.PRODUCTS)
            row = self.branded(product, 0.04, 0.28, region, 1.0)
            row["title"] = product[2][0].upper() + product[2][1:]
        elif kind < 0.85:
            row = self.unbranded(region, 10, 60)
            title = row["title"]
            row["title"] = f"Luxury designer {title if title[:2].isupper() else title.lower()}"
        else:
            row = self.unbranded(region, 12, 90)
            row["image_phash"] = self.near_phash(7, 12)
        row["label"] = INFRINGING
        return row

    # ------------------------------------------------------------------ assembly

    def rows(self, count: int, regions: tuple[str, ...]) -> Iterator[Row]:
        rng = self.rng
        scenarios, cumulative = self.scenarios, self.cumulative
        total = cumulative[-1]
        for n in range(1, count + 1):
            region = regions[int(rng.random() * len(regions))]
            draft = scenarios[bisect(cumulative, rng.random() * total)](region)
            draft.setdefault("id", f"L-{region}-{n:07d}")
            draft["region"] = region
            draft["currency"] = CURRENCY[region]
            if "description" not in draft and rng.random() < 0.5:
                draft["description"] = rng.choice(tables.DESCRIPTIONS[region])
            if "image_phash" not in draft:
                draft["image_phash"] = f"{rng.getrandbits(64):016x}"
            if rng.random() < UNCATEGORISED:
                del draft["category"]
            if rng.random() < LABEL_NOISE:
                draft["label"] = CLEAN if draft["label"] == INFRINGING else INFRINGING
            yield {key: draft[key] for key in ORDER if key in draft}


def listings(count: int, *, seed: int = 0, regions: Sequence[str] = REGIONS) -> Iterator[Row]:
    """`count` labelled listings spread over `regions`; the same seed gives the same rows."""
    chosen = tuple(regions)
    unknown = [r for r in chosen if r not in CURRENCY]
    if not chosen or unknown:
        raise ValueError(f"regions must be some of {', '.join(REGIONS)}; got {list(chosen)}")
    return _Generator(seed).rows(count, chosen)


FORMATS = (".jsonl", ".parquet")
PARQUET_ROWS = 100_000  # listings per row group of a Parquet file


def write(path: Path, count: int, *, seed: int = 0) -> int:
    """Write `count` listings to `path`, as Parquet when it ends in .parquet and as JSON lines
    otherwise; returns the number of rows written."""
    if path.suffix.lower() == ".parquet":
        return _write_parquet(path, count, seed)
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in listings(count, seed=seed):
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1
    return written


def _write_parquet(path: Path, count: int, seed: int) -> int:
    """The listings as Parquet, each field of the type the reference modctl.yaml declares."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from modctl import yamlio
    from modctl.engine.columnar import arrow_schema
    from modctl.source.scaffold import reference_root

    fields = yamlio.load_file(reference_root() / "modctl.yaml")["fields"]
    schema = arrow_schema(fields)
    written = 0
    with pq.ParquetWriter(path, schema) as out:
        chunk: list[Row] = []
        for row in listings(count, seed=seed):
            chunk.append(row)
            if len(chunk) == PARQUET_ROWS:
                out.write_table(pa.Table.from_pylist(chunk, schema=schema))
                written, chunk = written + len(chunk), []
        if chunk:
            out.write_table(pa.Table.from_pylist(chunk, schema=schema))
            written += len(chunk)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modctl.backtest.sample",
        description="Write seeded, labelled sample listings for the reference bundles (JSON "
        "lines, or Parquet for backtest --engine spark).",
    )
    parser.add_argument("--rows", type=int, default=3000, help="listings to write (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--out", type=Path, required=True, help="output file: .jsonl (JSON lines) or .parquet"
    )
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be 0 or more")
    if args.out.suffix.lower() not in FORMATS:
        parser.error(f"--out {args.out}: name a .jsonl (JSON lines) or a .parquet file")
    written = write(args.out, args.rows, seed=args.seed)
    print(f"wrote {written} listings to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
