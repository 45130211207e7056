"""The demo catalog: the 8 platforms of 2020, about 100 institutions and 2.700 trainings (the size
of the catalog in June 2020, figures.md) with Indonesian titles built from parts.

Deterministic (one seeded random generator: the same catalog on every machine), idempotent (a
second call finds the demo trainings and adds nothing) and set-based (bulk inserts). The benchmark
of catalog search uses the same generator at other sizes (``demo_catalog_seed(n=100_000)``).

What it makes, for a catalog of n trainings:

- the 8 platforms, created through ``partner_create`` (an existing partner with the same code is
  reused); 13 institutions per platform, one of which the platform itself owns for 4 of them
  (disclosed in the catalog, program.md §7);
- trainings whose category follows their institution's speciality; prices in whole thousands from
  Rp100.000 to Rp1.000.000, most between Rp150.000 and Rp500.000; 15% offline (exactly
  ``round(0,15 n)``), held near the reference point of a real regency drawn by population, 25%
  webinars, the rest self-paced video;
- 92% active, the rest waiting for review; about half of the active ones bought, and of those
  about two thirds reviewed by some of their buyers, with a quality of their own (1–5 stars).
"""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from prakerja.catalog.flags import text_bands_store
from prakerja.catalog.models import Delivery, Institution, Training, TrainingStatus
from prakerja.catalog.search import regency_centroids, search_cache_forget
from prakerja.common.actors import Actor
from prakerja.partners.models import Partner, PartnerKind
from prakerja.registration import regions

DEMO_SEED = 2020
DEMO_TRAININGS = 2700
EXTERNAL_PREFIX = "demo-"
INSTITUTIONS_PER_PLATFORM = 13
PRICE_MIN_IDR = 100_000
PRICE_MAX_IDR = 1_000_000  # not a scheme value: the demo catalog's dearest training
OFFLINE_SHARE = 0.15
WEBINAR_SHARE = 0.25
ACTIVE_SHARE = 0.92
CHUNK = 2000

# code, name, owns an institution of its own (the 2020 conflicts of interest)
PLATFORMS: list[tuple[str, str, str | None]] = [
    ("tokopedia", "Tokopedia", None),
    ("bukalapak", "Bukalapak", None),
    ("skill-academy", "Skill Academy by Ruangguru", "Skill Academy"),
    ("maubelajarapa", "MauBelajarApa", None),
    ("pintaria", "Pintaria", "Pintaria Learning Center"),
    ("sekolahmu", "Sekolahmu", "Sekolahmu Academy"),
    ("pijar-mahir", "Pijar Mahir", "Pijar Mahir Studio"),
    ("sisnaker", "Kemnaker (Sisnaker)", None),
]

# category -> topics a title is built around
TOPICS: dict[str, list[str]] = {
    "Pemasaran": [
        "Digital Marketing",
        "Pemasaran Media Sosial",
        "Copywriting Iklan",
        "Jualan Online di Marketplace",
        "Branding Produk",
        "Promosi lewat Instagram",
        "Iklan Facebook",
        "SEO Toko Online",
        "Teknik Closing Penjualan",
        "Email Marketing",
    ],
    "Teknologi Informasi": [
        "Microsoft Excel",
        "Pemrograman Python",
        "Desain Web dengan HTML dan CSS",
        "Jaringan Komputer",
        "Membuat Aplikasi Android",
        "Analisis Data",
        "Microsoft Word",
        "Keamanan Siber",
        "Pemrograman JavaScript",
        "Desain Grafis dengan Canva",
    ],
    "Bahasa Asing": [
        "Bahasa Inggris Percakapan",
        "Bahasa Inggris untuk Wawancara Kerja",
        "Bahasa Jepang",
        "Bahasa Korea",
        "Bahasa Mandarin",
        "Bahasa Arab",
        "Persiapan TOEFL",
        "Bahasa Jerman",
        "Bahasa Inggris Bisnis",
    ],
    "Keuangan": [
        "Pembukuan Sederhana",
        "Laporan Keuangan Usaha",
        "Perencanaan Keuangan Keluarga",
        "Pajak Usaha Kecil",
        "Investasi Reksa Dana",
        "Akuntansi",
        "Mengelola Arus Kas",
    ],
    "Kuliner": [
        "Membuat Kue Kering",
        "Memasak Masakan Padang",
        "Membuat Roti",
        "Usaha Katering Rumahan",
        "Barista Kopi",
        "Membuat Frozen Food",
        "Kue Tradisional Nusantara",
        "Membuat Sambal Kemasan",
    ],
    "Gaya Hidup": [
        "Merangkai Bunga",
        "Yoga",
        "Berkebun di Rumah",
        "Public Speaking",
        "Mengelola Stres",
        "Pengasuhan Anak",
    ],
    "Manajemen": [
        "Manajemen Proyek",
        "Kepemimpinan Tim",
        "Manajemen Sumber Daya Manusia",
        "Manajemen Gudang",
        "Membangun Usaha Rintisan",
        "Manajemen Waktu",
        "Pelayanan Pelanggan",
    ],
    "Pertanian": [
        "Budidaya Ikan Lele",
        "Hidroponik",
        "Budidaya Jamur Tiram",
        "Beternak Ayam Kampung",
        "Budidaya Cabai",
        "Membuat Pupuk Organik",
        "Budidaya Madu Kelulut",
    ],
    "Fotografi": [
        "Fotografi Produk",
        "Fotografi dengan Ponsel",
        "Editing Foto dengan Lightroom",
        "Videografi untuk Media Sosial",
        "Fotografi Pernikahan",
    ],
    "Kecantikan": [
        "Tata Rias Pengantin",
        "Merias Wajah",
        "Potong dan Perawatan Rambut",
        "Membuat Sabun Alami",
        "Nail Art",
        "Spa dan Pijat Tradisional",
    ],
    "Tata Busana": [
        "Menjahit",
        "Membuat Pola Busana",
        "Membatik",
        "Merajut",
        "Membuat Tas Anyaman",
        "Sablon Kaos",
    ],
    "Teknik dan Otomotif": [
        "Servis Sepeda Motor",
        "Perawatan Mesin Mobil",
        "Instalasi Listrik Rumah",
        "Pengelasan",
        "Servis AC",
        "Perbaikan Ponsel",
    ],
}
CATEGORIES = list(TOPICS)

TITLE_PREFIXES = [
    "",
    "",
    "Teknik Dasar ",
    "Belajar ",
    "Kelas ",
    "Kursus Singkat ",
    "Mahir ",
    "Praktik ",
]
TITLE_SUFFIXES = [
    "",
    " untuk Pemula",
    " untuk UMKM",
    " untuk Ibu Rumah Tangga",
    " Tingkat Lanjut",
    " dalam 30 Hari",
    " bagi Pencari Kerja",
    ": Dari Nol Sampai Mahir",
]
AUDIENCES = [
    "pemula yang belum pernah belajar sebelumnya",
    "pelaku UMKM yang ingin usahanya naik kelas",
    "pencari kerja yang ingin menambah keahlian",
    "karyawan yang terkena PHK dan ingin beralih profesi",
    "ibu rumah tangga yang ingin berpenghasilan dari rumah",
    "lulusan baru yang menyiapkan diri masuk dunia kerja",
]
INSTITUTION_KINDS = [
    "Lembaga Pelatihan",
    "Akademi",
    "LPK",
    "Kursus",
    "Rumah Belajar",
    "Pusat Pelatihan",
    "Studio",
    "Sekolah",
]
INSTITUTION_NAMES = [
    "Cahaya Mandiri",
    "Nusantara Cerdas",
    "Maju Bersama",
    "Karya Bangsa",
    "Prima Kreatif",
    "Insan Terampil",
    "Bina Usaha",
    "Mitra Kerja",
    "Sinar Harapan",
    "Tunas Muda",
    "Anak Negeri",
    "Gemilang",
    "Sentosa Abadi",
    "Kartika",
    "Mutiara Ilmu",
    "Harapan Bangsa",
    "Cipta Karya",
    "Bintang Timur",
    "Pelita",
    "Garuda Muda",
]
STREETS = [
    "Sudirman",
    "Gatot Subroto",
    "Diponegoro",
    "Ahmad Yani",
    "Pahlawan",
    "Merdeka",
    "Imam Bonjol",
    "Gajah Mada",
    "Veteran",
    "Pemuda",
]


@dataclass(frozen=True)
class DemoCatalog:
    platforms: int
    institutions: int
    trainings: int
    created: bool  # False: the demo catalog was already there


def demo_catalog_seed(
    *, n: int = DEMO_TRAININGS, seed: int = DEMO_SEED, actor: Actor | None = None
) -> DemoCatalog:
    """The demo platforms, institutions and n trainings; nothing if demo trainings exist."""
    actor = actor or Actor.system("demo.catalog")
    demo_trainings = Training.objects.filter(external_id__startswith=EXTERNAL_PREFIX)
    if demo_trainings.exists():
        return DemoCatalog(
            platforms=Partner.objects.filter(code__in=[p[0] for p in PLATFORMS]).count(),
            institutions=Institution.objects.filter(
                external_id__startswith=EXTERNAL_PREFIX
            ).count(),
            trainings=demo_trainings.count(),
            created=False,
        )
    rng = random.Random(seed)
    platforms = _platforms(actor)
    with transaction.atomic():
        institutions = _institutions(platforms, rng)
        count = 0
        for chunk in _chunks(_trainings(n, institutions, rng), CHUNK):
            Training.objects.bulk_create(chunk)
            text_bands_store(chunk, new=True)
            count += len(chunk)
    search_cache_forget()
    return DemoCatalog(
        platforms=len(platforms), institutions=len(institutions), trainings=count, created=True
    )


def _platforms(actor: Actor) -> list[Partner]:
    from prakerja.partners.services import partner_create

    existing = {p.code: p for p in Partner.objects.filter(code__in=[c for c, _, _ in PLATFORMS])}
    return [
        existing.get(code)
        or partner_create(code=code, name=name, kind=PartnerKind.PLATFORM, actor=actor)[0]
        for code, name, _owned in PLATFORMS
    ]


@dataclass(frozen=True)
class _Institution:
    row: Institution
    categories: tuple[str, str]  # speciality first


def _institutions(platforms: list[Partner], rng: random.Random) -> list[_Institution]:
    names = [f"{kind} {name}" for name in INSTITUTION_NAMES for kind in INSTITUTION_KINDS]
    rng.shuffle(names)
    made: list[_Institution] = []
    for p, (platform, (_code, _name, own)) in enumerate(zip(platforms, PLATFORMS, strict=True)):
        for k in range(INSTITUTIONS_PER_PLATFORM):
            number = p * INSTITUTIONS_PER_PLATFORM + k
            owned = own is not None and k == 0
            first, second = rng.sample(CATEGORIES, 2)
            made.append(
                _Institution(
                    Institution(
                        platform=platform,
                        external_id=f"{EXTERNAL_PREFIX}inst-{number:03d}",
                        name=own if owned and own is not None else names[number],
                        owned_by_platform=owned,
                    ),
                    (first, second),
                )
            )
    Institution.objects.bulk_create([i.row for i in made])
    return made


def _trainings(n: int, institutions: list[_Institution], rng: random.Random) -> Iterator[Training]:
    offline, webinar = round(n * OFFLINE_SHARE), round(n * WEBINAR_SHARE)
    deliveries = (
        [Delivery.OFFLINE] * offline
        + [Delivery.WEBINAR] * webinar
        + [Delivery.SELF_PACED] * (n - offline - webinar)
    )
    rng.shuffle(deliveries)
    places = _places(rng)
    for i, delivery in enumerate(deliveries):
        institution = rng.choice(institutions)
        category = institution.categories[0 if rng.random() < 0.8 else 1]
        topic = rng.choice(TOPICS[category])
        title = f"{rng.choice(TITLE_PREFIXES)}{topic}{rng.choice(TITLE_SUFFIXES)}"
        price = _price(rng)
        active = rng.random() < ACTIVE_SHARE
        buyers, reviews, stars = _demand(rng) if active else (0, 0, 0)
        training = Training(
            platform=institution.row.platform,
            external_id=f"{EXTERNAL_PREFIX}{i:06d}",
            institution=institution.row,
            title=title,
            category=category,
            description=(
                f"{title}. Materi {topic.lower()} disampaikan langkah demi langkah oleh instruktur "
                f"berpengalaman, cocok untuk {rng.choice(AUDIENCES)}. Peserta mengerjakan tugas "
                "akhir dan mendapat sertifikat setelah lulus."
            ),
            price_idr=price,
            price_outside_program_idr=price + 1000 * rng.choice([0, 0, 0, 25, 50, 100]),
            duration_hours=rng.randint(2, 40),
            sessions=rng.randint(1, 12),
            delivery=delivery,
            url=f"https://{institution.row.platform.code}.example/pelatihan/{EXTERNAL_PREFIX}{i:06d}",
            status=TrainingStatus.ACTIVE if active else TrainingStatus.PENDING_REVIEW,
            buyers=buyers,
            rating_count=reviews,
            rating_sum=stars,
        )
        if delivery == Delivery.OFFLINE:
            code, name, (lat, lon) = rng.choices(places[0], places[1])[0]
            training.regency_code = code
            training.lat = round(lat + rng.uniform(-0.04, 0.04), 6)
            training.lon = round(lon + rng.uniform(-0.04, 0.04), 6)
            training.address = f"Jl. {rng.choice(STREETS)} No. {rng.randint(1, 250)}, {name}"
        training.content_hash = hashlib.sha256(
            f"{title}|{category}|{price}|{delivery}|{training.regency_code}".encode()
        ).hexdigest()
        yield training


def _places(
    rng: random.Random,
) -> tuple[list[tuple[str, str, tuple[float, float]]], list[int]]:
    """Regencies with a reference point, and their population as weights."""
    points = regency_centroids()
    population = regions.regency_population()
    codes = sorted(code for code in population if code in points)
    places = []
    for code in codes:
        region = regions.region(code)
        name = region.name.title().replace("Kab. ", "Kabupaten ") if region else code
        places.append((code, name, points[code]))
    return places, [population[code] for code in codes]


def _price(rng: random.Random) -> int:
    """Whole thousands, mostly Rp150.000–Rp500.000, within the demo's range."""
    thousands = round(rng.triangular(PRICE_MIN_IDR / 1000, PRICE_MAX_IDR / 1000, 250))
    if rng.random() < 0.3:  # the "Rp199.000" habit
        thousands = max(thousands - thousands % 50 - 1, PRICE_MIN_IDR // 1000)
    return min(max(thousands * 1000, PRICE_MIN_IDR), PRICE_MAX_IDR)


def _demand(rng: random.Random) -> tuple[int, int, int]:
    """(buyers, reviews, stars) of an active training: half never bought, a long tail of hits."""
    if rng.random() < 0.5:
        return 0, 0, 0
    buyers = min(int(rng.paretovariate(1.1) * 8), 20_000)
    reviews = round(buyers * rng.uniform(0.3, 0.9)) if rng.random() < 0.67 else 0
    quality = rng.uniform(2.8, 4.9)
    stars = sum(_stars(quality, rng) for _ in range(min(reviews, 50)))
    if reviews > 50:  # the mean of a sample, scaled: the same mean, without 20.000 draws
        stars = round(stars * reviews / 50)
    return buyers, reviews, min(max(stars, reviews), 5 * reviews)


def _stars(quality: float, rng: random.Random) -> int:
    return min(5, max(1, round(rng.gauss(quality, 0.8))))


def _chunks(items: Iterator[Training], size: int) -> Iterator[list[Training]]:
    chunk: list[Training] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
