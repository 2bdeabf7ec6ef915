"""Signed checkpoints: round trips, tampering, wrong keys, malformed notes, published notes."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from taxgate.errors import FormatError, SignatureError
from taxgate.formats.keys import new_key
from taxgate.ledger.checkpoint import (
    ED25519_SIGNATURE_SIZE,
    KEY_HASH_SIZE,
    Checkpoint,
    key_hash,
    note_key_name,
    parse_checkpoint,
    parse_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)

CREATED = date(2026, 11, 1)
WHEN = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
ROOT = bytes(range(32))
ROOT_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of bytes 0..31
EXPECTED_BODY = f"taxgate.example/ledger\n8\n{ROOT_B64}\ntimestamp 2026-11-22T10:00:00Z\n"
SIGNATURE_LINE = 6  # four body lines, the blank line, then the first signature


@pytest.fixture
def log_key() -> tuple[Ed25519PrivateKey, str]:
    private, record = new_key(
        "Disclosing Agency", "Log Operator", "Ledger", created_on=CREATED, seed=b"log"
    )
    return private, note_key_name(record)


@pytest.fixture
def checkpoint() -> Checkpoint:
    return Checkpoint("taxgate.example/ledger", 8, ROOT, WHEN)


@pytest.fixture
def note(checkpoint: Checkpoint, log_key: tuple[Ed25519PrivateKey, str]) -> str:
    private, name = log_key
    return sign_checkpoint(checkpoint, private, name)


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.split("\n")
    lines[number - 1] = new
    return "\n".join(lines)


# --- the body and the note ---


def test_body_is_origin_size_root_and_timestamp(checkpoint: Checkpoint) -> None:
    assert checkpoint.body() == EXPECTED_BODY


def test_note_is_body_blank_line_and_one_em_dash_signature_line(
    note: str, log_key: tuple[Ed25519PrivateKey, str]
) -> None:
    private, name = log_key
    body, _, signature_block = note.partition("\n\n")
    assert body + "\n" == EXPECTED_BODY
    prefix = f"\u2014 {name} "
    assert signature_block.startswith(prefix) and signature_block.endswith("\n")
    raw = base64.b64decode(signature_block[len(prefix) : -1], validate=True)
    assert raw[:KEY_HASH_SIZE] == key_hash(name, private.public_key())
    private.public_key().verify(raw[KEY_HASH_SIZE:], EXPECTED_BODY.encode())


def test_round_trip(note: str, checkpoint: Checkpoint, log_key) -> None:
    private, name = log_key
    assert verify_checkpoint(note, private.public_key(), name) == checkpoint
    parsed, signatures = parse_checkpoint(note)
    assert parsed == checkpoint
    assert [(s.name, s.key_hash) for s in signatures] == [
        (name, key_hash(name, private.public_key()))
    ]
    assert len(signatures[0].signature) == ED25519_SIGNATURE_SIZE


def test_empty_tree_round_trips(log_key) -> None:
    private, name = log_key
    empty = Checkpoint("taxgate.example/ledger", 0, ROOT, WHEN)
    assert "\n0\n" in empty.body()
    assert verify_checkpoint(sign_checkpoint(empty, private, name), private.public_key(), name) == (
        empty
    )


def test_timestamp_is_held_as_whole_utc_seconds() -> None:
    eastern = timezone(timedelta(hours=-5))
    local = datetime(2026, 11, 22, 5, 0, 0, 999_999, tzinfo=eastern)
    cp = Checkpoint("o", 1, ROOT, local)
    assert cp.timestamp == WHEN
    assert cp.timestamp.tzinfo == UTC
    assert cp.body().endswith("timestamp 2026-11-22T10:00:00Z\n")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timestamp": datetime(2026, 11, 22, 10)}, "timezone-aware"),
        ({"origin": ""}, "origin"),
        ({"origin": "two\nlines"}, "origin"),
        ({"size": -1}, "tree size"),
        ({"size": 2**63}, "tree size"),
        ({"root": b"short"}, "32-byte"),
    ],
)
def test_checkpoint_refuses_values_the_format_cannot_carry(fields: dict, message: str) -> None:
    values = {"origin": "o", "size": 1, "root": ROOT, "timestamp": WHEN} | fields
    with pytest.raises(ValueError, match=message):
        Checkpoint(**values)


# --- key names ---


def test_key_name_joins_agency_and_key_id_without_spaces_or_plus() -> None:
    _, record = new_key("Disclosing  Agency+IT", "A", "B", created_on=CREATED, seed=b"k")
    name = note_key_name(record)
    assert name == f"Disclosing-Agency-IT/{record.key_id}"
    assert " " not in name and "+" not in name


def test_key_name_falls_back_to_key_id_when_agency_has_no_usable_characters() -> None:
    _, record = new_key(" \t+ ", "A", "B", created_on=CREATED, seed=b"k")
    assert note_key_name(record) == record.key_id


def test_sign_refuses_a_name_that_signed_note_forbids(checkpoint: Checkpoint, log_key) -> None:
    private, _ = log_key
    for bad in ("", "has space", "a+b"):
        with pytest.raises(ValueError, match="key name"):
            sign_checkpoint(checkpoint, private, bad)


# --- tampering and keys ---


@pytest.mark.parametrize(
    ("line", "new"),
    [
        (1, "taxgate.example/other"),
        (2, "9"),
        (3, base64.b64encode(bytes(32)).decode()),
        (4, "timestamp 2026-11-22T10:00:01Z"),
    ],
)
def test_tampered_body_fails(note: str, log_key, line: int, new: str) -> None:
    private, name = log_key
    tampered = replace_line(note, line, new)
    parse_checkpoint(tampered)  # still well formed: only the signature can catch it
    with pytest.raises(SignatureError, match="does not match"):
        verify_checkpoint(tampered, private.public_key(), name)


def test_corrupted_signature_fails(note: str, log_key) -> None:
    private, name = log_key
    prefix, _, encoded = note.split("\n")[SIGNATURE_LINE - 1].rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    bad = replace_line(note, SIGNATURE_LINE, f"{prefix} {base64.b64encode(raw).decode()}")
    with pytest.raises(SignatureError, match="does not match"):
        verify_checkpoint(bad, private.public_key(), name)


def test_wrong_key_fails(note: str, log_key) -> None:
    _, name = log_key
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    with pytest.raises(SignatureError, match="no signature by key"):
        verify_checkpoint(note, other, name)


def test_wrong_name_fails(note: str, log_key) -> None:
    private, _ = log_key
    with pytest.raises(SignatureError, match="no signature by key"):
        verify_checkpoint(note, private.public_key(), "taxgate.example/someone-else")


def test_signature_by_an_unknown_key_is_ignored(note: str, checkpoint: Checkpoint, log_key) -> None:
    private, name = log_key
    witness = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    cosigned = sign_checkpoint(checkpoint, witness, "witness.example")
    witness_line = cosigned.split("\n")[SIGNATURE_LINE - 1] + "\n"
    both = note + witness_line
    assert verify_checkpoint(both, private.public_key(), name) == checkpoint
    assert verify_checkpoint(both, witness.public_key(), "witness.example") == checkpoint


# --- malformed notes ---


@pytest.mark.parametrize(
    ("mangle", "where"),
    [
        (lambda n: replace_line(n, 2, "08"), "line 2"),
        (lambda n: replace_line(n, 2, "-1"), "line 2"),
        (lambda n: replace_line(n, 2, "\uff18"), "line 2"),  # fullwidth 8: not ASCII
        (lambda n: replace_line(n, 3, "not base64!"), "line 3"),
        (lambda n: replace_line(n, 3, base64.b64encode(bytes(31)).decode()), "line 3"),
        (lambda n: replace_line(n, 4, "timestamp 2026-11-22 10:00:00"), "line 4"),
        (lambda n: replace_line(n, 4, "time 2026-11-22T10:00:00Z"), "line 4"),
        (lambda n: replace_line(n, 4, "timestamp 2026-11-22T10:00:00Z\nextra"), "line 5"),
        (lambda n: replace_line(n, 2, "\n8"), "line 2"),
        (lambda n: n.replace("\n", "\r\n", 1), "line 1"),
        (lambda n: n.replace("\u2014 ", "- "), f"line {SIGNATURE_LINE}"),
        (lambda n: n.replace("\u2014 ", "\u2014 a+b", 1), f"line {SIGNATURE_LINE}"),
        (lambda n: n[: n.rindex(" ") + 1] + "@@@@\n", f"line {SIGNATURE_LINE}"),
        (lambda n: n[: n.rindex(" ") + 1] + "AAAA\n", f"line {SIGNATURE_LINE}"),
        (lambda n: n[:-1], f"line {SIGNATURE_LINE}"),
        (lambda n: n + "Unexpected line.\n", f"line {SIGNATURE_LINE + 1}"),
        (lambda n: n.partition("\n\n")[0] + "\n\n", f"line {SIGNATURE_LINE}"),
    ],
)
def test_malformed_note_names_the_line(note: str, mangle, where: str) -> None:
    with pytest.raises(FormatError, match=where):
        parse_checkpoint(mangle(note))


def test_note_without_blank_line_says_what_a_note_looks_like(note: str) -> None:
    with pytest.raises(FormatError, match="no blank line"):
        parse_checkpoint(note.replace("\n\n", "\n"))


def test_checkpoint_without_timestamp_says_what_lines_it_needs(note: str) -> None:
    three_lines = note.replace("timestamp 2026-11-22T10:00:00Z\n", "")
    with pytest.raises(FormatError, match="a checkpoint has 4 lines") as caught:
        parse_checkpoint(three_lines)
    assert caught.value.fix


def test_malformed_note_is_reported_before_any_signature_check(note: str, log_key) -> None:
    private, name = log_key
    with pytest.raises(FormatError, match="line 2"):
        verify_checkpoint(replace_line(note, 2, "eight"), private.public_key(), name)


# --- published notes ---
# golang/mod sumdb/note/note_test.go (TestSign, TestOpen, TestNewVerifier): keys and notes.
PETER_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VERIFIER_KEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
    "otpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn"
    "WLox33WWd1RvMc+QQ=\n"
)
GO_SIG_OFFSET = 60  # where TestOpen splices "ABCD" into a signature line
# C2SP/C2SP tlog-checkpoint.md: the example checkpoint (its public key is not published).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u"
    "5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


def go_verifier(vkey: str) -> tuple[str, str, Ed25519PublicKey]:
    """Name, key hash (hex) and key from a Go `<name>+<hash>+base64(0x01 || key)` string."""
    name, hash_hex, encoded = vkey.split("+", 2)
    raw = base64.b64decode(encoded)
    assert raw[0] == 1  # the Ed25519 type byte
    return name, hash_hex, Ed25519PublicKey.from_public_bytes(raw[1:])


def test_key_hash_matches_go_published_keys() -> None:
    for vkey in (PETER_VERIFIER_KEY, ENOCH_VERIFIER_KEY):
        name, hash_hex, public = go_verifier(vkey)
        assert key_hash(name, public).hex() == hash_hex


def test_signing_reproduces_the_go_published_note() -> None:
    encoded = PETER_SIGNER_KEY.split("+", 4)[4]  # PRIVATE+KEY+<name>+<hash>+<base64 key>
    seed = base64.b64decode(encoded)[1:]  # drop the type byte
    private = Ed25519PrivateKey.from_private_bytes(seed)
    assert sign_note(GO_TEXT, private, "PeterNeumann") == GO_TEXT + "\n" + PETER_SIG


def test_go_published_note_verifies_and_other_signers_are_ignored() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    for vkey in (PETER_VERIFIER_KEY, ENOCH_VERIFIER_KEY):
        name, _, public = go_verifier(vkey)
        assert verify_note(note, public, name) == GO_TEXT


def test_go_published_corruptions_are_rejected() -> None:
    name, _, public = go_verifier(PETER_VERIFIER_KEY)
    spliced = PETER_SIG[:GO_SIG_OFFSET] + "ABCD" + PETER_SIG[GO_SIG_OFFSET:]
    with pytest.raises(SignatureError):
        verify_note(GO_TEXT + "\n" + spliced, public, name)
    bad_messages = [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + "\u2014 Bad Name " + PETER_SIG.rsplit(" ", 1)[1][:-1],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ]
    for message in bad_messages:
        with pytest.raises(FormatError):
            verify_note(message, public, name)


def test_c2sp_example_checkpoint_parses_as_a_note() -> None:
    body, signatures = parse_note(C2SP_CHECKPOINT)
    assert body.split("\n")[:3] == [
        "example.com/behind-the-sofa",
        "20852163",
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    ]
    assert [s.name for s in signatures] == ["example.com/behind-the-sofa"]
    assert len(signatures[0].signature) == ED25519_SIGNATURE_SIZE
    with pytest.raises(FormatError, match="a checkpoint has 4 lines"):
        parse_checkpoint(C2SP_CHECKPOINT)  # ours always carries the timestamp line


# --- the chain to the previous checkpoint ---


def test_previous_round_trips_and_is_signed(log_key) -> None:
    private, name = log_key
    cp = Checkpoint("taxgate.example/ledger", 8, ROOT, WHEN, previous=5)
    note = sign_checkpoint(cp, private, name)
    assert "\nprevious 5\n" in note
    assert verify_checkpoint(note, private.public_key(), name) == cp
    assert parse_checkpoint(note)[0].previous == 5
    dropped = note.replace("previous 5\n", "")
    with pytest.raises(SignatureError, match="does not match"):
        verify_checkpoint(dropped, private.public_key(), name)


@pytest.mark.parametrize("line", ["previous 8", "previous 9", "previous 05", "previous -1",
                                  "prev 5", "previous"])  # fmt: skip
def test_a_malformed_previous_line_is_refused(log_key, line: str) -> None:
    private, name = log_key
    body = Checkpoint("o", 8, ROOT, WHEN).body() + line + "\n"
    with pytest.raises(FormatError, match="line 5"):
        parse_checkpoint(sign_note(body, private, name))


def test_an_extension_after_previous_is_refused(log_key) -> None:
    private, name = log_key
    body = Checkpoint("o", 8, ROOT, WHEN, previous=1).body() + "more 1\n"
    with pytest.raises(FormatError, match="line 6"):
        parse_checkpoint(sign_note(body, private, name))


def test_previous_must_lie_below_the_size() -> None:
    with pytest.raises(ValueError, match="previous"):
        Checkpoint("o", 8, ROOT, WHEN, previous=8)
