"""The signature covers every manifest field: change any one and the signed manifest fails.

The fields are enumerated from the pydantic models (nested models included), so a field added
to a manifest later is covered without touching this file. Each changed value keeps its type
and, where it names a file, names a copy of the signed table, so the only thing left to catch
the change is the signature itself.
"""

from __future__ import annotations

import base64
import shutil
import typing
from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from taxgate.formats.codes import Outcome
from taxgate.formats.keys import PublicKeyRecord, new_key
from taxgate.formats.manifest import RequestManifest, ResponseManifest, SignedManifest, Signer
from taxgate.formats.records import ResponseRow, Subject
from taxgate.formats.signing import (
    canonical_bytes,
    file_sha256,
    sign_manifest,
    verify_manifest,
    verify_manifest_file,
)
from taxgate.formats.tables import read_table, records_to_table, write_table

REQUESTER = "Requesting Agency"
DISCLOSER = "Disclosing Agency"
DAY = date(2025, 8, 1)
SIGNATURE_FIELD = "signature"
HEX = frozenset("0123456789abcdef")


def _key(agency: str, seed: bytes, title: str = "Director"):
    return new_key(agency, "Pat Example", title, created_on=DAY, seed=seed)


def _model_type(annotation: object) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (through Optional/Annotated), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_type(arg)
        if found is not None:
            return found
    return None


def leaf_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field path of `model`, nested models expanded, the signature itself left out."""
    paths: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        if not prefix and name == SIGNATURE_FIELD:
            continue
        nested = _model_type(info.annotation)
        if nested is not None:
            paths += leaf_fields(nested, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def _flatten(data: dict, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for key, value in data.items():
        if isinstance(value, dict):
            out |= _flatten(value, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def _get(data: dict, path: tuple[str, ...]):
    for key in path:
        data = data[key]
    return data


def _set(data: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


# ---------------------------------------------------------------- signed batches


class Signed:
    """One signed manifest in its folder, with the keys that know it."""

    def __init__(self, manifest: SignedManifest, path: Path, keyring, private_key, spare) -> None:
        self.manifest = manifest
        self.path = path
        self.keyring: dict[str, PublicKeyRecord] = keyring
        self.private_key = private_key
        self.spare = spare  # a second genuine key of the same agency, also in the keyring

    def codes(self, manifest: SignedManifest) -> list[str]:
        return [p.code for p in verify_manifest(manifest, self.path, self.keyring)]

    def changed(self, path: tuple[str, ...]) -> SignedManifest:
        """The signed manifest with the field at `path` given another value of its type."""
        data = self.manifest.model_dump(mode="json")
        old = _get(data, path)
        _set(data, path, self._other_value(path, old))
        return type(self.manifest).model_validate(data)

    def _other_value(self, path: tuple[str, ...], old):
        annotation = _annotation(type(self.manifest), path)
        if path == ("signer", "key_id"):
            return self.spare[1].key_id  # a genuine key, known and of the same agency
        if date in (annotation, *typing.get_args(annotation)):
            return (date.fromisoformat(old) + timedelta(days=1)).isoformat()
        if isinstance(old, bool):
            return not old
        if isinstance(old, int):
            return old + 1
        if isinstance(old, str):
            if path[-1] == self.manifest.file_field:
                copy = f"x-{old}"
                shutil.copyfile(self.path.parent / old, self.path.parent / copy)
                return copy
            if len(old) == 64 and set(old) <= HEX:
                return old[:-1] + ("0" if old[-1] != "0" else "1")
            return old + "x"
        raise AssertionError(f"no way to change field {'.'.join(path)} = {old!r}; extend the test")


def _annotation(model: type[BaseModel], path: tuple[str, ...]):
    for name in path[:-1]:
        model = _model_type(model.model_fields[name].annotation)
    return model.model_fields[path[-1]].annotation


@pytest.fixture
def request_batch(tmp_path: Path) -> Signed:
    private_key, record = _key(REQUESTER, b"every-field")
    spare = _key(REQUESTER, b"every-field-spare")
    folder = tmp_path / "batch"
    folder.mkdir()
    subjects = [
        Subject(subject_id=f"S-{i}", given_name="Ana", family_name=f"Ruiz{i}", zip="78701")
        for i in range(3)
    ]
    write_table(records_to_table(subjects, "subjects"), folder / "subjects.csv", "subjects")
    path = folder / "manifest.json"
    manifest = RequestManifest(
        batch_id="B-every-field",
        requesting_agency=REQUESTER,
        submitted_on=DAY,
        signer=Signer(name="Pat Example", title="Director"),
        statutory_authority="8 U.S.C. 1253(a)(1)",
        attestation="personally and directly engaged, solely for that proceeding",
        subjects_file="subjects.csv",
    )
    signed = sign_manifest(manifest, path, private_key, record)
    signed.save(path)
    keyring = {record.key_id: record, spare[1].key_id: spare[1]}
    return Signed(signed, path, keyring, private_key, spare)


@pytest.fixture
def response_batch(tmp_path: Path) -> Signed:
    private_key, record = _key(DISCLOSER, b"every-field-response", "Disclosure Officer")
    spare = _key(DISCLOSER, b"every-field-response-spare", "Disclosure Officer")
    folder = tmp_path / "response"
    folder.mkdir()
    rows = [
        ResponseRow(subject_id="S-0", outcome=Outcome.NOT_CONFIRMED),
        ResponseRow(subject_id="S-1", outcome=Outcome.REJECTED, reason_codes="TIN_INVALID"),
    ]
    write_table(records_to_table(rows, "responses"), folder / "responses.csv", "responses")
    path = folder / "response.json"
    manifest = ResponseManifest(
        batch_id="B-every-field",
        disclosing_agency=DISCLOSER,
        recipient_agency=REQUESTER,
        responded_on=DAY,
        request_sha256="a" * 64,
        signer=Signer(name="Pat Example", title="Disclosure Officer"),
        responses_file="responses.csv",
    )
    signed = sign_manifest(manifest, path, private_key, record)
    signed.save(path)
    keyring = {record.key_id: record, spare[1].key_id: spare[1]}
    return Signed(signed, path, keyring, private_key, spare)


REQUEST_FIELDS = leaf_fields(RequestManifest)
RESPONSE_FIELDS = leaf_fields(ResponseManifest)


def _ids(paths: list[tuple[str, ...]]) -> list[str]:
    return [".".join(p) for p in paths]


# ---------------------------------------------------------------- every field


@pytest.mark.parametrize("model", [RequestManifest, ResponseManifest])
def test_the_field_enumeration_sees_the_nested_signer_and_every_table_field(model) -> None:
    paths = set(leaf_fields(model))
    assert ("signer", "key_id") in paths and ("signer", "name") in paths
    for attr in ("file_field", "digest_field", "count_field"):
        assert (getattr(model, attr),) in paths
    assert (SIGNATURE_FIELD,) not in paths


@pytest.mark.parametrize("fixture", ["request_batch", "response_batch"])
def test_the_signed_payload_holds_every_field_but_the_signature(fixture, request) -> None:
    signed: Signed = request.getfixturevalue(fixture)
    payload = signed.manifest.unsigned_payload()
    assert _flatten(payload) == set(leaf_fields(type(signed.manifest)))
    assert SIGNATURE_FIELD not in payload


def test_the_untouched_manifests_verify(request_batch: Signed, response_batch: Signed) -> None:
    assert request_batch.codes(request_batch.manifest) == []
    assert response_batch.codes(response_batch.manifest) == []


def _assert_signature_fails(signed: Signed, path: tuple[str, ...]) -> None:
    try:
        changed = signed.changed(path)
    except ValidationError:
        return  # the model itself refuses the changed value: it can never verify
    assert changed != signed.manifest, f"{'.'.join(path)} was not changed"
    codes = signed.codes(changed)
    assert "SIGNATURE_INVALID" in codes, f"changing {'.'.join(path)} still verifies: {codes}"
    # ... and the same through the file on disk, as `taxgate batch verify` reads it.
    changed.save(signed.path)
    problems = verify_manifest_file(signed.path, _keyring_dir(signed), type(signed.manifest))
    assert "SIGNATURE_INVALID" in [p.code for p in problems]


def _keyring_dir(signed: Signed) -> Path:
    folder = signed.path.parent.parent / "keyring"
    if not folder.is_dir():
        folder.mkdir()
        for record in signed.keyring.values():
            name = record.key_id.replace(":", "_") + ".pub.json"
            (folder / name).write_text(record.model_dump_json(), encoding="utf-8")
    return folder


@pytest.mark.parametrize("path", REQUEST_FIELDS, ids=_ids(REQUEST_FIELDS))
def test_a_request_manifest_with_any_one_field_changed_fails(request_batch, path) -> None:
    _assert_signature_fails(request_batch, path)


@pytest.mark.parametrize("path", RESPONSE_FIELDS, ids=_ids(RESPONSE_FIELDS))
def test_a_response_manifest_with_any_one_field_changed_fails(response_batch, path) -> None:
    _assert_signature_fails(response_batch, path)


# ---------------------------------------------------------------- named attacks


def test_a_swapped_subjects_table_with_its_digest_and_count_updated_fails(
    request_batch: Signed,
) -> None:
    folder = request_batch.path.parent
    other = [Subject(subject_id="X-1", given_name="Someone", family_name="Else", zip="10001")]
    write_table(records_to_table(other, "subjects"), folder / "subjects.csv", "subjects")
    swapped = request_batch.manifest.model_copy(
        update={
            "subjects_sha256": file_sha256(folder / "subjects.csv"),
            "subject_count": read_table(folder / "subjects.csv", "subjects").num_rows,
        }
    )
    assert request_batch.codes(swapped) == ["SIGNATURE_INVALID"]


def test_a_second_subjects_file_named_in_place_of_the_signed_one_fails(
    request_batch: Signed,
) -> None:
    folder = request_batch.path.parent
    other = [Subject(subject_id="X-1", given_name="Someone", family_name="Else", zip="10001")]
    write_table(records_to_table(other, "subjects"), folder / "other.csv", "subjects")
    swapped = request_batch.manifest.model_copy(
        update={
            "subjects_file": "other.csv",
            "subjects_sha256": file_sha256(folder / "other.csv"),
            "subject_count": 1,
        }
    )
    assert "SIGNATURE_INVALID" in request_batch.codes(swapped)


@pytest.mark.parametrize("days", [1, 30, 365])
def test_a_later_or_earlier_submitted_on_fails(request_batch: Signed, days: int) -> None:
    for sign in (1, -1):
        moved = request_batch.manifest.model_copy(
            update={"submitted_on": DAY + timedelta(days=sign * days)}
        )
        assert request_batch.codes(moved) == ["SIGNATURE_INVALID"]


def test_a_signature_presented_under_another_known_key_id_fails(request_batch: Signed) -> None:
    other_id = request_batch.spare[1].key_id
    moved = request_batch.manifest.model_copy(
        update={"signer": request_batch.manifest.signer.model_copy(update={"key_id": other_id})}
    )
    assert request_batch.codes(moved) == ["SIGNATURE_INVALID"]


def test_a_manifest_signed_by_another_genuine_key_under_this_key_id_fails(
    request_batch: Signed,
) -> None:
    spare_private = request_batch.spare[0]
    manifest = request_batch.manifest
    forged = spare_private.sign(canonical_bytes(manifest.unsigned_payload()))
    swapped = manifest.model_copy(update={"signature": base64.b64encode(forged).decode()})
    assert request_batch.codes(swapped) == ["SIGNATURE_INVALID"]


def _with_signature_bytes(manifest: SignedManifest, raw: bytes) -> SignedManifest:
    return manifest.model_copy(update={"signature": base64.b64encode(raw).decode("ascii")})


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s[:-1], id="truncated-one-byte"),
        pytest.param(lambda s: s[:32], id="truncated-half"),
        pytest.param(lambda s: s + b"\x00", id="extended-zero"),
        pytest.param(lambda s: s + s, id="doubled"),
        pytest.param(lambda s: bytes([s[0] ^ 1]) + s[1:], id="first-bit-flipped"),
        pytest.param(lambda s: s[:-1] + bytes([s[-1] ^ 0x80]), id="last-bit-flipped"),
        pytest.param(lambda s: b"\x00" * len(s), id="zeros"),
        pytest.param(lambda s: b"", id="empty-bytes"),
    ],
)
def test_a_truncated_extended_or_altered_signature_fails(request_batch: Signed, edit) -> None:
    raw = base64.b64decode(request_batch.manifest.signature)
    altered = _with_signature_bytes(request_batch.manifest, edit(raw))
    codes = request_batch.codes(altered)
    assert codes and set(codes) <= {"SIGNATURE_INVALID", "SIGNATURE_MISSING"}


@pytest.mark.parametrize(
    "text",
    ["!!!!", "AAAA====", " ", "\u00e9", "A" * 86 + "=="],
    ids=["not-base64", "bad-padding", "space", "non-ascii", "wrong-length"],
)
def test_a_signature_that_is_not_a_signature_fails(request_batch: Signed, text: str) -> None:
    altered = request_batch.manifest.model_copy(update={"signature": text})
    assert request_batch.codes(altered) == ["SIGNATURE_INVALID"]


def test_the_signature_of_another_manifest_fails(request_batch: Signed, tmp_path: Path) -> None:
    record = request_batch.keyring[request_batch.manifest.signer.key_id]
    other = request_batch.manifest.model_copy(update={"batch_id": "B-other", "signature": ""})
    other_signed = sign_manifest(other, request_batch.path, request_batch.private_key, record)
    assert request_batch.codes(other_signed) == []
    borrowed = request_batch.manifest.model_copy(update={"signature": other_signed.signature})
    assert request_batch.codes(borrowed) == ["SIGNATURE_INVALID"]


def test_a_response_signature_does_not_verify_a_request(
    request_batch: Signed, response_batch: Signed
) -> None:
    borrowed = request_batch.manifest.model_copy(
        update={"signature": response_batch.manifest.signature}
    )
    assert request_batch.codes(borrowed) == ["SIGNATURE_INVALID"]


def test_an_unknown_key_fails(request_batch: Signed) -> None:
    stranger = _key(REQUESTER, b"stranger")[1]
    moved = request_batch.manifest.model_copy(
        update={
            "signer": request_batch.manifest.signer.model_copy(update={"key_id": stranger.key_id})
        }
    )
    assert request_batch.codes(moved) == ["KEY_UNKNOWN"]
    assert verify_manifest(request_batch.manifest, request_batch.path, {}) != []


def test_a_manifest_signed_by_a_stranger_with_its_own_key_fails_without_that_key(
    request_batch: Signed,
) -> None:
    stranger_private, stranger = _key(REQUESTER, b"stranger")
    forged = sign_manifest(
        request_batch.manifest.model_copy(
            update={"signer": Signer(name="Pat Example", title="Director"), "signature": ""}
        ),
        request_batch.path,
        stranger_private,
        stranger,
    )
    assert request_batch.codes(forged) == ["KEY_UNKNOWN"]


def test_an_empty_key_id_with_a_signature_fails(request_batch: Signed) -> None:
    moved = request_batch.manifest.model_copy(
        update={"signer": request_batch.manifest.signer.model_copy(update={"key_id": ""})}
    )
    assert request_batch.codes(moved) == ["KEY_UNKNOWN"]


def test_a_key_of_another_agency_fails(request_batch: Signed) -> None:
    private, record = _key("Some Other Agency", b"other-agency")
    unsigned = request_batch.manifest.model_copy(
        update={"signer": Signer(name="Pat Example", title="Director"), "signature": ""}
    )
    signed = sign_manifest(unsigned, request_batch.path, private, record)
    codes = [p.code for p in verify_manifest(signed, request_batch.path, {record.key_id: record})]
    assert codes == ["KEY_AGENCY_MISMATCH"]
