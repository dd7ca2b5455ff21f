"""Seeded, labelled sample listings for backtesting the reference bundles.

Brands, phrases, seller ids, image hashes, notice ids and reference prices come from the reference
bundles' lists, so the rows exercise the rules the way marketplace traffic does: mostly clean
listings, counterfeits the rules catch, counterfeits that evade them, and clean listings that look
suspicious. `python -m modctl.backtest.sample --rows N --out FILE` writes them as JSON lines.
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

from modctl.source.scaffold import reference_root
from modctl.yamlio import load_file

REGIONS: tuple[str, ...] = ("SG", "MY", "TH", "ID", "PH", "VN", "GB", "US")
CURRENCY = dict(zip(REGIONS, ("SGD", "MYR", "THB", "IDR", "PHP", "VND", "GBP", "USD"), strict=True))
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
PHASHES: list[int] = [int(h, 16) for h in _LISTS["counterfeit-phashes"]]
VERIFIED_NOTICES: list[str] = _LISTS["verified-notices"]
PENDING_NOTICES: list[str] = _LISTS["pending-notices"]
REPLICA_PHRASES: list[str] = _LISTS["replica-phrases"]
LOCAL_REPLICA_PHRASES: list[str] = _LISTS["local-replica-phrases"]
DUPE_PHRASES: list[str] = _LISTS["dupe-phrases"]
STUFFING_PHRASES: list[str] = _LISTS["stuffing-phrases"]
# Brand words as sellers write them in titles: fashion keywords that are also protected brands.
FASHION_WORDS = [w for w in _LISTS["fashion-brands"] if w in set(_LISTS["protected-brands"])]
TECH_WORDS: list[str] = _LISTS["tech-brands"]
FASHION_CATEGORIES = frozenset(_LISTS["fashion-categories"])
TOY_WORDS: list[str] = _LISTS["toy-brands"]
# Brands with an allow-brand-authorized-seller pair in ipr-brand-misuse.
BRAND_AUTHORIZED = (
    "Apple",
    "Dyson",
    "Nike",
    "Adidas",
    "New Balance",
    "LEGO",
    "Pandora",
    "Swarovski",
    "Coach",
    "Michael Kors",
)
# Names in the brand-list-stuffing and hashtag regexes.
LIST_WORDS = ("gucci", "lv", "chanel", "dior", "prada", "hermes", "balenciaga", "ysl", "fendi")

# Declared brand -> "category|product" lines near the brand's reference price.
CATALOGUE: dict[str, tuple[str, ...]] = {
    "Gucci": (
        "womens-bags|GG Marmont small shoulder bag",
        "womens-bags|Dionysus mini bag",
        "sneakers|Ace leather sneakers",
    ),
    "Louis Vuitton": (
        "womens-bags|Neverfull MM monogram tote",
        "womens-bags|Speedy Bandoulière 25",
        "luggage|Keepall 45 duffle",
    ),
    "Chanel": (
        "womens-bags|Classic Flap medium caviar bag",
        "womens-bags|Boy bag quilted lambskin",
    ),
    "Hermès": ("womens-bags|Birkin 30 Togo leather", "womens-bags|Kelly 28 Epsom"),
    "Prada": ("womens-bags|Re-Edition 2005 Re-Nylon bag", "womens-bags|Galleria saffiano tote"),
    "Rolex": (
        "watches|Submariner Date 41mm steel",
        "watches|Datejust 36 jubilee",
        "watches|GMT-Master II Pepsi",
    ),
    "Omega": ("watches|Seamaster Diver 300M", "watches|Speedmaster Professional Moonwatch"),
    "Cartier": ("watches|Santos medium steel watch", "jewelry|Love bracelet yellow gold"),
    "Nike": ("sneakers|Dunk Low Panda", "sneakers|Air Force 1 '07 white", "sneakers|Air Max 90"),
    "Adidas": ("sneakers|Samba OG white", "sneakers|Gazelle Indoor", "sneakers|Ultraboost Light"),
    "Supreme": ("mens-clothing|box logo hoodie", "mens-clothing|box logo tee"),
    "Off-White": ("sneakers|Out of Office sneakers", "mens-clothing|diagonal arrows hoodie"),
    "Ray-Ban": ("eyewear|Wayfarer classic sunglasses", "eyewear|Aviator gold frame"),
    "Apple": ("headphones|AirPods Pro 2 with MagSafe case", "audio|AirPods 4"),
    "Dyson": (
        "hair-care-appliances|Airwrap multi-styler complete long",
        "hair-care-appliances|Supersonic hair dryer",
        "home-appliances|V15 Detect cordless vacuum",
    ),
    "Pandora": ("jewelry|Moments snake chain bracelet", "jewelry|charm bracelet sterling silver"),
    "Tiffany & Co": ("jewelry|Return to Tiffany heart tag pendant", "jewelry|T1 narrow ring"),
    "Swarovski": ("jewelry|Millenia crystal necklace", "jewelry|Matrix tennis bracelet"),
    "Balenciaga": ("sneakers|Triple S sneakers", "womens-bags|Le Cagole shoulder bag"),
    "Dior": ("womens-bags|Saddle bag oblique jacquard", "womens-bags|Book Tote medium"),
    "Burberry": ("outerwear|Kensington trench coat", "womens-bags|Lola shoulder bag"),
    "Yeezy": ("sneakers|Boost 350 V2 Zebra", "sneakers|Boost 700 Wave Runner"),
    "Moncler": ("outerwear|Maya short down jacket", "outerwear|Grenoble ski jacket"),
    "Canada Goose": ("outerwear|Expedition parka", "outerwear|Chilliwack bomber"),
    "Patek Philippe": ("watches|Nautilus 5711 steel", "watches|Aquanaut 5167A"),
    "Audemars Piguet": ("watches|Royal Oak 15500ST", "watches|Royal Oak Offshore chronograph"),
    "Tissot": ("watches|PRX Powermatic 80", "watches|Le Locle automatic"),
    "Longchamp": ("womens-bags|Le Pliage large tote", "womens-bags|Le Pliage Green backpack"),
    "Coach": ("womens-bags|Tabby shoulder bag 26", "womens-bags|Willow tote"),
    "Michael Kors": ("womens-bags|Jet Set large tote", "watches|Lexington chronograph watch"),
    "New Balance": (
        "sneakers|550 white green",
        "sneakers|990v6 grey",
        "sneakers|2002R protection pack sneakers",
    ),
    "LEGO": ("building-blocks|Technic 42151 Bugatti Bolide", "building-blocks|Creator 3in1 castle"),
    "Pokémon": (
        "trading-cards|TCG Scarlet & Violet booster pack",
        "trading-cards|TCG Paldea Evolved booster pack",
    ),
    "Fendi": ("womens-bags|Baguette FF jacquard", "womens-bags|Peekaboo ISeeU medium"),
    "Celine": ("womens-bags|Triomphe shoulder bag", "womens-bags|Luggage nano tote"),
    "Saint Laurent": ("womens-bags|Loulou small quilted bag", "womens-bags|Kate chain bag"),
    "Bottega Veneta": ("womens-bags|Jodie intrecciato mini", "womens-bags|Cassette padded bag"),
    "Valentino": ("womens-shoes|Rockstud pumps 100", "womens-bags|Roman Stud shoulder bag"),
    "Versace": ("womens-bags|La Medusa handbag", "mens-clothing|Barocco silk shirt"),
    "Givenchy": ("womens-bags|Antigona small bag", "mens-clothing|4G logo hoodie"),
    "Goyard": ("womens-bags|Saint Louis PM tote", "womens-bags|Artois MM"),
    "Montblanc": (
        "wallets|Meisterstück wallet 6cc",
        "stationery|Meisterstück LeGrand fountain pen",
    ),
    "TAG Heuer": ("watches|Carrera chronograph", "watches|Aquaracer 300"),
    "Breitling": ("watches|Navitimer B01 43", "watches|Superocean 42"),
    "Hublot": ("watches|Big Bang Unico", "watches|Classic Fusion titanium"),
    "Richard Mille": ("watches|RM 011 Felipe Massa",),
    "Chrome Hearts": ("mens-clothing|cross patch hoodie", "jewelry|forever ring sterling silver"),
    "Stone Island": ("mens-clothing|compass badge overshirt", "outerwear|nylon metal jacket"),
    "Beats": ("headphones|Studio Pro wireless headphones", "headphones|Solo 4 on-ear"),
}
TITLE_FORM = {"Valentino": "Valentino Garavani", "Beats": "Beats by Dre"}
MISSPELLED = {
    "Gucci": ("Guccci", "Gucii", "G-U-C-C-I"),
    "Louis Vuitton": ("Louis Vuiton", "Lous Vuitton", "L0uis Vuitton"),
    "Chanel": ("Chanell", "Channel", "C H A N E L"),
    "Rolex": ("Rolexx", "R0lex"),
    "Nike": ("Nikee", "N1ke"),
    "Adidas": ("Addidas", "Adidaas"),
    "Prada": ("Pradaa", "Prad4"),
    "Dior": ("Diorr", "D1or"),
    "Balenciaga": ("Balenciagaa", "Balenciga"),
    "Hermès": ("Hermmes", "Herm3s"),
    "Yeezy": ("Yeezzy", "Yzy"),
}
# "category|title|min USD|max USD|declared brand" for ordinary listings; local ones per region.
GENERIC = (
    "womens-clothing|Floral summer midi dress|9|35|",
    "womens-clothing|Oversized linen shirt, beige|12|40|",
    "mens-clothing|Cotton crew neck T-shirt, 3 pack|8|25|",
    "mens-clothing|Slim fit stretch chino trousers|15|45|",
    "mens-clothing|Heattech crew neck long sleeve T-shirt|8|20|Uniqlo",
    "outerwear|Beadnell wax jacket|220|380|Barbour",
    "womens-bags|Canvas tote bag with zip pocket|6|25|",
    "womens-bags|Affordable alternative to designer bags: canvas tote|8|20|",
    "mens-bags|Anello backpack large, navy|30|60|Anello",
    "mens-shoes|Classic clog, black|35|55|Crocs",
    "sneakers|Canvas low-top sneakers, white|12|35|",
    "watches|Casio G-Shock GA-2100 carbon core|80|120|Casio",
    "watches|Digital sports watch, waterproof 50m|8|25|",
    "jewelry|Sterling silver hoop earrings|10|40|",
    "eyewear|Blue light blocking glasses|6|20|",
    "fashion-accessories|Silk scarf, paisley print|8|30|",
    "beauty|Vitamin C brightening serum 30ml|6|25|",
    "fragrance|Oud body mist 200ml|8|20|",
    "mobile-phones|Xiaomi Redmi Note 13 8/256GB|180|260|Xiaomi",
    "mobile-phones|Samsung Galaxy A55 5G 128GB|330|420|Samsung",
    "phone-accessories|65W GaN USB-C fast charger|12|35|",
    "audio|Bluetooth speaker, waterproof IPX7|15|60|",
    "headphones|Wireless earbuds with charging case|10|40|",
    "computer-accessories|Mechanical keyboard, brown switches|30|90|",
    "home-appliances|Air fryer 5.5L digital|40|110|",
    "home-decor|Scandinavian ceramic vase set|12|45|",
    "home-living|Cotton bedsheet set, queen|18|60|",
    "home-living|Rechargeable AAA batteries, 8 pack|6|18|",
    "kitchen|Non-stick frying pan 28cm|12|40|",
    "groceries|Arabica coffee beans 1kg|15|35|",
    "health-supplements|Vitamin D3 1000IU, 180 tablets|6|18|",
    "books|Atomic Habits, paperback|10|18|",
    "toys|Wooden stacking rainbow toy|8|25|",
    "building-blocks|City street building block set, 800 pcs|15|45|",
    "stuffed-toys|Shiba Inu plush 40cm|8|25|",
    "board-games|Family card game night pack|8|20|",
    "baby-and-kids|Ergonomic baby carrier|25|70|",
    "sports-outdoors|Yoga mat 6mm, non-slip|10|30|",
    "car-accessories|Dash cam 4K with night vision|40|110|",
    "pet-supplies|Cat scratching post 80cm|15|40|",
    "stationery|Gel pen set, 24 colours|4|12|",
    "travel|Universal travel adapter|10|25|",
)
LOCAL_GENERIC = {
    "MY": (
        "womens-clothing|Baju kurung moden, cotton|12|35|",
        "womens-clothing|Tudung bawal premium|3|10|",
    ),
    "TH": (
        "womens-clothing|เสื้อยืดผ้าฝ้าย oversize|4|12|",
        "womens-bags|กระเป๋าสะพายข้าง ผู้หญิง|6|20|",
    ),
    "ID": (
        "womens-bags|Tas selempang wanita kulit|5|20|",
        "mens-clothing|Kemeja batik pria lengan panjang|8|25|",
        "womens-clothing|Hijab voal motif premium|3|10|",
    ),
    "PH": (
        "mens-clothing|Barong Tagalog, jusi fabric|25|70|",
        "mens-shoes|Rubber tsinelas, unisex|2|6|",
    ),
    "VN": (
        "womens-bags|Túi đeo chéo nữ canvas|5|15|",
        "mens-clothing|Áo thun nam cotton cổ tròn|4|12|",
        "womens-shoes|Giày thể thao nữ đế bằng|8|25|",
    ),
}
DESCRIPTIONS = (
    "Ready stock, ships within 24 hours.",
    "Brand new, never used.",
    "Free shipping on orders over $30.",
    "Fast delivery, well packed.",
    "Message us for bulk orders.",
)
LOCAL_DESCRIPTIONS = {
    "MY": ("Ready stock, pos laju 1-3 hari.",),
    "TH": ("พร้อมส่ง ส่งไว",),
    "ID": ("Ready stock! Siap kirim hari ini.",),
    "PH": ("Legit seller, COD available.",),
    "VN": ("Hàng có sẵn, giao hàng toàn quốc.",),
}
# Unbranded fashion items: the body of image-matched, stuffed and evasive listings.
UNBRANDED = (
    "womens-bags|Women's quilted chain shoulder bag",
    "womens-bags|Vintage style leather crossbody bag",
    "womens-bags|PU leather tote bag, large",
    "wallets|Monogram canvas long wallet",
    "watches|Men's automatic diver watch, steel",
    "sneakers|Unisex low-top leather sneakers",
    "eyewear|Classic square sunglasses UV400",
    "jewelry|Titanium steel bangle, gold tone",
    "mens-clothing|Logo print oversized hoodie",
)
SELLER_PITCH = (
    "With box, dust bag and card.",
    "Top quality, same as picture.",
    "Best price, limited stock!",
    "Free gift box with every order.",
)
HYPE = ("", "", " hot sale", " free shipping", " ready stock", " 2025 new")
UNRELATED = {
    "fashion": (
        "phone-accessories|{} pattern phone case for iPhone 15",
        "home-decor|{} logo wall sticker, gold",
        "car-accessories|{} monogram car seat cover set",
        "home-living|{} print bedsheet set, queen",
        "home-decor|{} wall clock, 30 cm",
    ),
    "tech": (
        "fashion-accessories|{} keychain bag charm, pink",
        "womens-clothing|{} print crop top",
    ),
    "toy": (
        "baking-supplies|{} birthday cake topper set",
        "phone-accessories|{} phone strap charm",
        "womens-clothing|{} print pyjama set",
    ),
}
HOMONYMS = (
    "travel|Coach tour Bangkok to Pattaya, return trip with hotel pickup|20|45|",
    "travel|Coach tour: Singapore to Kuala Lumpur express bus, one way|15|30|",
    "books|Apple pie recipe book: 50 classic bakes|8|20|",
    "groceries|Apple cider vinegar with the mother, 500ml|4|9|",
    "health-supplements|Omega-3 fish oil 1000mg, 120 softgels|10|25|Blackmores",
    "collectibles|Diorama display case for 1:43 model cars|15|40|",
    "costumes|Legolas elven cloak, cosplay size M|20|45|",
    "home-decor|Tiffany lamp, stained glass table lamp|40|120|",
    "kitchen|Supreme pizza stone 33cm|15|35|",
    "board-games|Pandora's box escape room game|12|30|",
    "music|Celine Dion greatest hits vinyl LP|25|40|",
    "office-supplies|Hermes parcel shop label printer 4x6|45|90|",
    "home-decor|Nike goddess statue, Greek mythology resin figure|20|60|",
    "video-games|Dyson Sphere Program Steam key|10|20|",
)
SCALE_MODELS = (
    "collectibles|1:1 scale replica movie prop sword|40|120|",
    "collectibles|1:1 scale wearable Iron Man helmet|90|250|",
    "collectibles|1:1 scale F1 steering wheel display model|60|150|",
    "stuffed-toys|Pokémon Center Pikachu 1:1 scale plush|60|90|Pokémon",
    "action-figures|Gundam RX-78-2 1:1 scale head bust|150|400|Bandai",
    "collectibles|Transformers Bumblebee 1:1 scale wearable helmet|80|160|Hasbro",
)
COMPATIBLE = (
    "audio-accessories|Silicone case compatible with AirPods Pro 2|3|12|",
    "phone-accessories|Tempered glass screen protector for iPhone 15 Pro|2|10|",
    "wearables|Replacement sport loop strap for Apple Watch 41mm|5|15|",
    "gaming-consoles|Charging dock for Nintendo Switch controllers|12|30|",
    "home-appliances|Wall mount for Dyson V15 vacuum|8|20|",
    "phone-accessories|USB-C to Lightning cable (1 m)|8|20|Apple",
    "phone-accessories|Samsung Galaxy S24 clear case|4|15|",
)
PRELOVED = ("Pre-loved ", "Preloved ", "Used ", "Second-hand ", "Authentic pre-owned ")


def _fullwidth(text: str) -> str:
    """ASCII letters and signs as their full-width forms, which NFKC folds back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _split(line: str) -> tuple[str, str, float, float, str]:
    category, title, low, high, brand = line.split("|")
    return category, title, float(low), float(high), brand


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
Seller = tuple[str, int, tuple[str, ...]]  # id, ipr_strikes, authorized_brands
Row = dict[str, Any]


class _Generator:
    """Per-seed state: the random stream and the seller pools every scenario draws from."""

    def __init__(self, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        listed = set(_LISTS["authorized-sellers"]) | set(_LISTS["authorized-resellers"])
        self.ordinary: dict[str, list[Seller]] = {}
        self.repeat: dict[str, list[Seller]] = {}
        self.brand_authorized: dict[str, dict[str, list[Seller]]] = {}
        for region in REGIONS:
            ids = [f"S-{region}-{n}" for n in rng.sample(range(200000, 1000000), 2200)]
            ids = [i for i in ids if i not in listed]
            strikes = rng.choices((0, 1, 2, 3), (0.88, 0.09, 0.02, 0.01), k=2000)
            self.ordinary[region] = [(i, s, ()) for i, s in zip(ids[:2000], strikes, strict=True)]
            self.repeat[region] = [(i, rng.randint(2, 5), ()) for i in ids[2000:2100]]
            others = iter(ids[2100:])
            self.brand_authorized[region] = {
                b: [(next(others), 0, (b, *self.other_brands(b))) for _ in range(3)]
                for b in BRAND_AUTHORIZED
            }
        self.generic = {
            r: [_split(line) for line in GENERIC + LOCAL_GENERIC.get(r, ())] for r in REGIONS
        }
        self.descriptions = {r: DESCRIPTIONS + LOCAL_DESCRIPTIONS.get(r, ()) for r in REGIONS}
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
        others = [b for b in BRAND_AUTHORIZED if b != brand]
        return self.rng.sample(others, self.rng.randint(0, 1))

    def seller(self, pool: list[Seller]) -> dict[str, Any]:
        sid, strikes, brands = self.rng.choice(pool)
        found: dict[str, Any] = {"id": sid, "ipr_strikes": strikes}
        if brands:
            found["authorized_brands"] = list(brands)
        return found

    def listed_seller(self, region: str, brand: str, *, resellers: bool = False) -> dict[str, Any]:
        ids = RESELLERS[region] if resellers else AUTHORIZED[region]
        return {"id": self.rng.choice(ids), "ipr_strikes": 0, "authorized_brands": [brand]}

    def branded(
        self, product: Product, low: float, high: float, region: str, brand_p: float
    ) -> Row:
        """A listing of `product` from an ordinary seller at `low`..`high` x reference price."""
        brand, form, name, category, ref = product
        rng = self.rng
        row: Row = {
            "title": f"{form} {name}",
            "price": round(ref * rng.uniform(low, high), 2),
            "category": category,
            "seller": self.seller(self.ordinary[region]),
        }
        if rng.random() < brand_p:
            row["brand"] = brand
        return row

    def unbranded(self, region: str, low: float, high: float) -> Row:
        category, title = self.rng.choice(UNBRANDED).split("|")
        return {
            "title": title,
            "price": round(self.rng.uniform(low, high), 2),
            "category": category,
            "seller": self.seller(self.ordinary[region]),
        }

    def catalogue_item(self, line: tuple[str, str, float, float, str], region: str) -> Row:
        category, title, low, high, brand = line
        row: Row = {
            "title": title,
            "price": round(self.rng.uniform(low, high), 2),
            "category": category,
            "seller": self.seller(self.ordinary[region]),
        }
        if brand:
            row["brand"] = brand
        return row

    def near_phash(self, low: int, high: int) -> str:
        """A listed counterfeit hash with `low`..`high` random bits flipped."""
        rng = self.rng
        value = rng.choice(PHASHES)
        for bit in rng.sample(range(64), rng.randint(low, high)):
            value ^= 1 << bit
        return f"{value:016x}"

    # ------------------------------------------------------------------ clean scenarios

    def plain(self, region: str) -> Row:
        """Ordinary listing: no protected brand (some declare an unprotected one)."""
        row = self.catalogue_item(self.rng.choice(self.generic[region]), region)
        row["label"] = CLEAN
        return row

    def genuine_authorized(self, region: str) -> Row:
        """Genuine branded listing at full price from an official store or authorized seller."""
        rng = self.rng
        if rng.random() < 0.6:
            product = rng.choice(PRODUCTS)
            seller = self.listed_seller(region, product[0])
        else:
            product = rng.choice(PAIRED_PRODUCTS)
            seller = self.seller(self.brand_authorized[region][product[0]])
        row = self.branded(product, 0.85, 1.5, region, 0.9)
        row["seller"] = seller
        row["label"] = CLEAN
        return row

    def genuine_resale(self, region: str) -> Row:
        """Genuine branded listing at a normal price from an ordinary seller (grey import)."""
        row = self.branded(self.rng.choice(PRODUCTS), 0.6, 1.3, region, 0.7)
        row["label"] = CLEAN
        return row

    def preloved_cheap(self, region: str) -> Row:
        """Genuine second-hand item priced low: clean, but it may trip the price rules."""
        rng = self.rng
        product = rng.choice(RESOLD_PRODUCTS)
        row = self.branded(product, 0.15, 0.55, region, 0.8)
        row["title"] = rng.choice(PRELOVED) + row["title"]
        if product[3] in FASHION_CATEGORIES:
            row["category"] = rng.choice((product[3], "preloved-luxury"))
        row["description"] = rng.choice(
            ("Used a few times, receipt available.", "Condition 8/10, see photos.")
        )
        row["label"] = CLEAN
        return row

    def homonym(self, region: str) -> Row:
        """A brand word in an unrelated sense: Coach tour, Apple pie, Omega-3, Diorama."""
        row = self.catalogue_item(_split(self.rng.choice(HOMONYMS)), region)
        row["label"] = CLEAN
        return row

    def fullwidth_authorized(self, region: str) -> Row:
        """Full-width brand name on a genuine listing from an authorized seller."""
        rng = self.rng
        if rng.random() < 0.7:
            product = rng.choice(PRODUCTS)
            row = self.branded(product, 0.8, 1.3, region, 1.0)
            row["seller"] = self.listed_seller(region, product[0], resellers=True)
        else:
            product = rng.choice(PAIRED_PRODUCTS)
            row = self.branded(product, 0.25, 1.1, region, 1.0)
            row["seller"] = self.seller(self.brand_authorized[region][product[0]])
        row["title"] = f"{_fullwidth(product[1])} {product[2]}"
        row["label"] = CLEAN
        return row

    def scale_model(self, region: str) -> Row:
        """A "1:1 scale" model or prop: copy-like wording on a lawful item."""
        row = self.catalogue_item(_split(self.rng.choice(SCALE_MODELS)), region)
        row["label"] = CLEAN
        return row

    def compatible_accessory(self, region: str) -> Row:
        """Third-party accessory naming the device it fits."""
        row = self.catalogue_item(_split(self.rng.choice(COMPATIBLE)), region)
        row["label"] = CLEAN
        return row

    # ------------------------------------------------------------------ infringing scenarios

    def counterfeit_cheap(self, region: str) -> Row:
        """Protected brand far below its reference price from an unknown seller."""
        rng = self.rng
        row = self.branded(rng.choice(PRODUCTS), 0.04, 0.28, region, 0.85)
        row["title"] += rng.choice(HYPE)
        if rng.random() < 0.5:
            row["description"] = rng.choice(SELLER_PITCH)
        row["label"] = INFRINGING
        return row

    def replica_phrasing(self, region: str) -> Row:
        """Self-declared copy: replica, 1:1, AAA grade, mirror quality, or local slang."""
        rng = self.rng
        row = self.branded(rng.choice(PRODUCTS), 0.03, 0.4, region, 0.5)
        local = region in LOCAL_SLANG_REGIONS and rng.random() < 0.5
        phrase = rng.choice(LOCAL_REPLICA_PHRASES if local else REPLICA_PHRASES)
        if rng.random() < 0.6:
            row["title"] += f" {phrase}"
        else:
            row["description"] = (
                f"{phrase[0].upper()}{phrase[1:]}, {rng.choice(SELLER_PITCH).lower()}"
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
            family, words = rng.choice(
                (("fashion", FASHION_WORDS), ("fashion", FASHION_WORDS), ("tech", TECH_WORDS))
            )
            category, template = rng.choice(UNRELATED[family]).split("|")
            row: Row = {
                "title": template.format(rng.choice(words)),
                "price": round(rng.uniform(3, 25), 2),
                "category": category,
                "seller": self.seller(self.ordinary[region]),
            }
        elif kind < 0.55:
            category, template = rng.choice(UNRELATED["toy"]).split("|")
            row = {
                "title": template.format(rng.choice(TOY_WORDS)),
                "price": round(rng.uniform(2, 15), 2),
                "category": category,
                "seller": self.seller(self.ordinary[region]),
            }
        elif kind < 0.75:
            row = self.unbranded(region, 5, 40)
            tags = rng.sample(LIST_WORDS, rng.randint(3, 5))
            row["description"] = rng.choice(
                (f"Tags: {', '.join(tags)}", "Ready stock! " + " ".join(f"#{t}" for t in tags))
            )
        elif kind < 0.92:
            row = self.unbranded(region, 5, 40)
            phrase = rng.choice(STUFFING_PHRASES)
            if rng.random() < 0.5:
                row["title"] += f" ({phrase})"
            else:
                row["description"] = f"{phrase.capitalize()}, {rng.choice(SELLER_PITCH).lower()}"
        else:
            row = self.unbranded(region, 5, 40)
            row["description"] = f"Ready stock! #ootd #{rng.choice(LIST_WORDS)}"
        row["label"] = INFRINGING
        return row

    def dupe(self, region: str) -> Row:
        """Lookalike sold on the brand's name: "dupe", "inspired by"."""
        rng = self.rng
        _, form, name, category, _ = rng.choice(FASHION_PRODUCTS)
        if rng.random() < 0.6:
            title = f"{form} {name} {rng.choice(DUPE_PHRASES)}"
        else:
            title = f"Inspired by {form} {name}"
        row: Row = {
            "title": title,
            "price": round(rng.uniform(10, 60), 2),
            "category": category,
            "seller": self.seller(self.ordinary[region]),
            "label": INFRINGING,
        }
        return row

    def notice(self, region: str) -> Row:
        """Named in a rights-holder notice: verified, disputed, pending or withdrawn."""
        rng = self.rng
        row = self.branded(rng.choice(PRODUCTS), 0.3, 1.1, region, 0.6)
        kind = rng.random()
        counter = False
        if kind < 0.55:
            ids, label = [rng.choice(VERIFIED_NOTICES)], INFRINGING
        elif kind < 0.72:
            ids, counter = [rng.choice(VERIFIED_NOTICES)], True
            label = CLEAN if rng.random() < 0.5 else INFRINGING
        elif kind < 0.92:
            ids = [rng.choice(PENDING_NOTICES)]
            label = INFRINGING if rng.random() < 0.65 else CLEAN
        else:
            ids, label = [f"RHN-2025-{rng.randint(1000, 3999):06d}"], CLEAN
        if rng.random() < 0.1:
            ids.append(rng.choice(VERIFIED_NOTICES + PENDING_NOTICES))
        row["notice"] = {"ids": ids, "counter_notice": counter}
        row["label"] = label
        return row

    def repeat_infringer(self, region: str) -> Row:
        """Branded listing from a seller with two or more upheld strikes."""
        rng = self.rng
        row = self.branded(rng.choice(PRODUCTS), 0.3, 1.0, region, 0.7)
        row["seller"] = self.seller(self.repeat[region])
        row["label"] = INFRINGING if rng.random() < 0.75 else CLEAN
        return row

    def evasive(self, region: str) -> Row:
        """Counterfeit written to slip past the rules: misspelled brand, brand only in the brand
        field, no brand words at all, or a re-shot image."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.4:
            brand, _, name, category, ref = rng.choice(MISSPELLABLE)
            row = self.branded(
                (brand, rng.choice(MISSPELLED[brand]), name, category, ref), 0.04, 0.3, region, 0.0
            )
        elif kind < 0.65:
            product = rng.choice(PRODUCTS)
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
            draft["id"] = f"L-{region}-{n:07d}"
            draft["region"] = region
            draft["currency"] = CURRENCY[region]
            if "description" not in draft and rng.random() < 0.5:
                draft["description"] = rng.choice(self.descriptions[region])
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


def write(path: Path, count: int, *, seed: int = 0) -> int:
    """Write `count` listings to `path` as JSON lines; returns the number of rows written."""
    written = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in listings(count, seed=seed):
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modctl.backtest.sample",
        description="Write seeded, labelled sample listings for the reference bundles (JSON lines).",
    )
    parser.add_argument("--rows", type=int, default=3000, help="listings to write (default 3000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="output file (.jsonl)")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must be 0 or more")
    written = write(args.out, args.rows, seed=args.seed)
    print(f"wrote {written} listings to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
