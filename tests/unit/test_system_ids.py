"""The system id generator: codes people read out are short, from Crockford's alphabet,
and no letter is likelier than another (an order number must not be guessable)."""

from __future__ import annotations

import uuid
from collections import Counter

from getiickets.adapters.system.ids import CROCKFORD_ALPHABET, RandomIdGenerator


def test_codes_have_the_asked_length_in_crockfords_alphabet() -> None:
    ids = RandomIdGenerator()

    codes = [ids.new_code(length) for length in (1, 4, 8, 13) for _ in range(50)]

    assert [len(code) for code in codes] == [1] * 50 + [4] * 50 + [8] * 50 + [13] * 50
    assert set("".join(codes)) <= set(CROCKFORD_ALPHABET)


def test_every_letter_of_a_code_is_equally_likely() -> None:
    ids = RandomIdGenerator()
    draws = 64_000  # 2,000 expected per letter; the standard deviation is about 44

    counts = Counter("".join(ids.new_code(8) for _ in range(draws // 8)))

    assert set(counts) == set(CROCKFORD_ALPHABET)
    assert all(1_750 < count < 2_250 for count in counts.values()), counts


def test_ids_are_random_uuid4s_in_hex() -> None:
    ids = RandomIdGenerator()

    drawn = [ids.new_id() for _ in range(2_000)]

    assert len(set(drawn)) == len(drawn)
    for value in drawn:
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    # Every other bit is random: each hex digit outside the fixed ones takes all 16 values.
    free_positions = [i for i in range(32) if i not in (12, 16)]
    assert all(len({value[i] for value in drawn}) == 16 for i in free_positions)
