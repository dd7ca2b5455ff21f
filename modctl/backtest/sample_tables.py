"""What sample listings are made of: brands, prices, sellers, image hashes, notices and phrases
from the reference bundles' lists, and the product, wording and price tables kept as data in
sample_tables.json beside this module.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from modctl.source.scaffold import reference_root
from modctl.yamlio import load_file

REGIONS: tuple[str, ...] = ("SG", "MY", "TH", "ID", "PH", "VN", "GB", "US")
CURRENCY = dict(zip(REGIONS, ("SGD", "MYR", "THB", "IDR", "PHP", "VND", "GBP", "USD"), strict=True))
TABLES_FILE = "sample_tables.json"


def _reference_lists() -> dict[str, Any]:
    """List name -> items (or map entries) of every list in the reference bundles."""
    found: dict[str, Any] = {}
    for path in sorted((reference_root() / "strategies").glob("*/lists/*.yaml")):
        doc = load_file(path)
        found[doc["name"]] = doc.get("items", doc.get("entries"))
    return found


_LISTS = _reference_lists()
REFERENCE_PRICE: dict[str, float] = {
    k: float(v) for k, v in _LISTS["brand-reference-price"].items()
}
AUTHORIZED: dict[str, list[str]] = {
    r: [s for s in _LISTS["authorized-sellers"] if s.startswith(f"S-{r}-")] for r in REGIONS
}
RESELLERS: dict[str, list[str]] = {
    r: [s for s in _LISTS["authorized-resellers"] if s.startswith(f"S-{r}-")] for r in REGIONS
}
LISTED_SELLERS = frozenset(_LISTS["authorized-sellers"]) | frozenset(_LISTS["authorized-resellers"])
PHASHES: list[int] = [int(h, 16) for h in _LISTS["counterfeit-phashes"]]
VERIFIED_NOTICES: list[str] = _LISTS["verified-notices"]
PENDING_NOTICES: list[str] = _LISTS["pending-notices"]
# Listing ids named in verified notices that arrived outside the notice portal.
NOTICED_LISTINGS: list[str] = _LISTS["noticed-listings"]
REPLICA_PHRASES: list[str] = _LISTS["replica-phrases"]
LOCAL_REPLICA_PHRASES: list[str] = _LISTS["local-replica-phrases"]
DUPE_PHRASES: list[str] = _LISTS["dupe-phrases"]
STUFFING_PHRASES: list[str] = _LISTS["stuffing-phrases"]
# Brand words as sellers write them in titles: fashion keywords that are also protected brands.
FASHION_WORDS = [w for w in _LISTS["fashion-brands"] if w in set(_LISTS["protected-brands"])]
TECH_WORDS: list[str] = _LISTS["tech-brands"]
FASHION_CATEGORIES = frozenset(_LISTS["fashion-categories"])
TOY_WORDS: list[str] = _LISTS["toy-brands"]
# Brand words that bait searches from unrelated items, by family: fashion twice as often as tech.
BAIT_WORDS = (("fashion", FASHION_WORDS), ("fashion", FASHION_WORDS), ("tech", TECH_WORDS))


def _tables() -> dict[str, Any]:
    tables: dict[str, Any] = json.loads(
        resources.files("modctl.backtest").joinpath(TABLES_FILE).read_text("utf-8")
    )
    return tables


_TABLES = _tables()
Lines = tuple[str, ...]
Item = tuple[str, str, float, float, str]  # category, title, min USD, max USD, brand ("" for none)


def _lines(name: str) -> Lines:
    return tuple(_TABLES[name])


def _lines_by(name: str) -> dict[str, Lines]:
    return {key: tuple(lines) for key, lines in _TABLES[name].items()}


def _item(line: str) -> Item:
    """A table line "category|title|min USD|max USD|declared brand" as its parts."""
    category, title, low, high, brand = line.split("|")
    return category, title, float(low), float(high), brand


def _items(name: str) -> tuple[Item, ...]:
    return tuple(_item(line) for line in _TABLES[name])


# Brands with an allow-brand-authorized-seller pair in ipr-brand-misuse.
BRAND_AUTHORIZED = _lines("brand_authorized")
# Names in the brand-list-stuffing and hashtag regexes.
LIST_WORDS = _lines("list_words")
# Declared brand -> "category|product" lines near the brand's reference price.
CATALOGUE = _lines_by("catalogue")
# Brand -> how titles write it, where that differs from the brand.
TITLE_FORM: dict[str, str] = _TABLES["title_form"]
# Brand -> misspellings that slip past keyword lists.
MISSPELLED = _lines_by("misspelled")
# Ordinary listings, some declaring an unprotected brand: everywhere, plus local ones per region.
GENERIC: dict[str, list[Item]] = {
    r: [_item(line) for line in (*_TABLES["generic"], *_TABLES["local_generic"].get(r, ()))]
    for r in REGIONS
}
DESCRIPTIONS: dict[str, Lines] = {
    r: (*_TABLES["descriptions"], *_TABLES["local_descriptions"].get(r, ())) for r in REGIONS
}
# Unbranded fashion items: the body of image-matched, stuffed and evasive listings.
UNBRANDED = _lines("unbranded")
SELLER_PITCH = _lines("seller_pitch")
HYPE = _lines("hype")
# Brand family -> "category|title" lines whose title puts a brand word ({}) on an unrelated item.
UNRELATED = _lines_by("unrelated")
# A brand word in an unrelated sense: Coach tour, Apple pie, Omega-3, Diorama.
HOMONYMS = _items("homonyms")
# "1:1 scale" models and props: copy-like wording on lawful items.
SCALE_MODELS = _items("scale_models")
# Third-party accessories naming the device they fit.
COMPATIBLE = _items("compatible")
PRELOVED = _lines("preloved")

Product = tuple[str, str, str, str, float]  # brand, brand as written in titles, name, category, USD


def _products() -> list[Product]:
    """Catalogue lines of the brands that have a reference price."""
    found: list[Product] = []
    for brand, lines in CATALOGUE.items():
        if brand in REFERENCE_PRICE:
            for line in lines:
                category, name = line.split("|")
                found.append(
                    (brand, TITLE_FORM.get(brand, brand), name, category, REFERENCE_PRICE[brand])
                )
    return found


PRODUCTS = _products()
FASHION_PRODUCTS = [p for p in PRODUCTS if p[1] in FASHION_WORDS]
MISSPELLABLE = [p for p in PRODUCTS if p[0] in MISSPELLED]
PAIRED_PRODUCTS = [p for p in PRODUCTS if p[0] in BRAND_AUTHORIZED]
RESOLD_PRODUCTS = [p for p in PRODUCTS if p[4] >= 100]  # worth selling second-hand
