"""Review texts and survey answers the simulated participants write.

An honest participant's review is one of a million distinct texts, picked by its participant id, so
two honest people never write the same words (the identical-text flag is for rings, and would hold
an honest person's incentive). A ring's members share one text of their own form.
"""

OPENERS = (
    "Materinya sangat jelas", "Pelatihan ini bermanfaat", "Instrukturnya sabar menjelaskan",
    "Modulnya tersusun rapi", "Saya belajar banyak hal baru", "Kelasnya interaktif",
    "Penjelasannya mudah diikuti", "Isinya praktis dan lengkap", "Contohnya relevan dengan kerja",
    "Videonya berkualitas baik",
)  # fmt: skip
MIDDLES = (
    "untuk mencari kerja", "bagi usaha kecil saya", "sebagai bekal melamar", "untuk pemula seperti saya",
    "selama masa pandemi", "untuk menambah keterampilan", "bagi yang baru di bidang ini",
    "untuk pekerjaan sehari-hari", "dalam menyusun rencana usaha", "untuk persiapan wawancara",
)  # fmt: skip
DETAILS = (
    "tugasnya menantang", "kuisnya membantu mengulang", "sertifikatnya cepat terbit",
    "forum diskusinya aktif", "jadwalnya fleksibel", "latihannya banyak",
    "studi kasusnya menarik", "ringkasannya membantu", "mentornya responsif", "aplikasinya ringan",
)  # fmt: skip
FEELINGS = (
    "saya puas", "sangat direkomendasikan", "layak diikuti", "semoga ada lanjutannya",
    "terima kasih Prakerja", "akan saya praktikkan", "cukup memuaskan", "menambah percaya diri",
    "berguna sekali", "mantap",
)  # fmt: skip
EXTRAS = (
    "di rumah", "lewat ponsel", "di malam hari", "bersama teman", "di sela pekerjaan",
    "dengan kuota terbatas", "di akhir pekan", "pada pagi hari", "setelah bekerja", "tanpa kesulitan",
)  # fmt: skip
ENDINGS = (
    "Bintang untuk pengajarnya.", "Sukses selalu.", "Semoga bermanfaat bagi yang lain.",
    "Rekomendasi untuk teman.", "Ilmunya langsung terpakai.", "Tidak menyesal memilih ini.",
    "Waktunya tidak terbuang.", "Pengalaman yang baik.", "Harga sesuai isi.", "Belajar jadi mudah.",
)  # fmt: skip
PARTS = (OPENERS, MIDDLES, DETAILS, FEELINGS, EXTRAS, ENDINGS)
DISTINCT = 10**6

RING_TEXTS = (
    "Pelatihan terbaik se-Indonesia wajib beli sekarang juga bintang lima",
    "Kursus paling top pokoknya mantap jiwa beli segera jangan ragu",
    "Super sekali luar biasa sempurna tanpa cela rekomendasi nomor satu",
)


def review_text(participant_id: int) -> str:
    index = (participant_id * 7919) % DISTINCT  # a permutation of 0..999.999 (7919 is prime)
    words = []
    for part in PARTS:
        index, digit = divmod(index, len(part))
        words.append(part[digit])
    opener, middle, detail, feeling, extra, ending = words
    return f"{opener} {middle}, {detail}; {feeling}, belajar {extra}. {ending}"


def ring_text(ring: int) -> str:
    return f"{RING_TEXTS[ring % len(RING_TEXTS)]} kode {ring // len(RING_TEXTS) + 1}"


def review_stars(participant_id: int) -> int:
    return (4, 5, 5, 4, 3, 5, 4, 5)[participant_id % 8]


class ShareDealer:
    """Deals answers so their counts follow the shares exactly: after n answers, each answer's
    count is within one of n × share (the next answer goes to the one furthest behind)."""

    def __init__(self, shares: dict[str, float], given: dict[str, int]) -> None:
        self.shares = shares
        self.given = {code: given.get(code, 0) for code in shares}

    def deal(self) -> str:
        n = sum(self.given.values()) + 1
        code = max(self.shares, key=lambda c: (n * self.shares[c] - self.given[c], c))
        self.given[code] += 1
        return code
