"""Programme and proposal files: the examples parse; every broken row and field is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from states.errors import InvalidInput
from states.intake.input_files import load_programme, load_proposals
from tests.conftest import EXAMPLES

SHARED_EXAMPLES = Path("/work/shared/examples")

CSV_HEADER = (
    "programme,participant_name,participant_email,participant_language,home_organisation,"
    "home_manager_name,home_manager_email,host_organisation,host_contact_name,host_contact_email,"
    "start,end,extent_percent,purpose,value_for_home,value_for_host"
)


def csv_row(**changes: str) -> str:
    row = {
        "programme": "paus-2027",
        "participant_name": "Ann Ek",
        "participant_email": "ann.ek@univ.example",
        "participant_language": "sv",
        "home_organisation": "Institutionen för fysik",
        "home_manager_name": "Per Nilsson",
        "home_manager_email": "per.nilsson@univ.example",
        "host_organisation": "Region Skåne",
        "host_contact_name": "Lena Ström",
        "host_contact_email": "lena.strom@region.example",
        "start": "2027-03-01",
        "end": "2027-08-31",
        "extent_percent": "20",
        "purpose": "Flood data",
        "value_for_home": "Cases",
        "value_for_host": "Review",
    }
    row.update(changes)
    return ",".join(row[name] for name in CSV_HEADER.split(","))


def yaml_proposal(**changes: object) -> dict[str, object]:
    data = yaml.safe_load((EXAMPLES / "proposal.yaml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return data  # type: ignore[no-any-return]


def errors_of(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(path)
    return [str(e) for e in invalid.value.errors]


def test_the_examples_are_the_shared_ones_and_load() -> None:
    if SHARED_EXAMPLES.is_dir():
        for shared in SHARED_EXAMPLES.iterdir():
            assert (EXAMPLES / shared.name).read_bytes() == shared.read_bytes(), shared.name
    keys = {
        load_programme(EXAMPLES / name)[0].key
        for name in ("programme-affiliation.yaml", "programme-paus.yaml")
    }
    assert keys == {"affilierad-kompetens-2027", "paus-2027"}
    [single] = load_proposals(EXAMPLES / "proposal.yaml")
    assert single.participant.email == "daniel.aberg@verktyg.example"
    assert single.extent_percent == 20
    rows = load_proposals(EXAMPLES / "proposals.csv")
    assert [p.participant.name for p in rows] == ["Maria Sjöberg", "Ahmed Karimi"]
    assert rows[0].host_contact.language == "sv" and rows[1].funding_sek == 150000
    # An optional cell left empty is simply absent.
    assert rows[1].student_involvement == ""


def test_csv_with_three_broken_rows_names_each_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "proposals.csv"
    path.write_text(
        "\n".join(
            [
                CSV_HEADER,
                csv_row(),
                csv_row(participant_email="ann-at-univ.example"),
                csv_row(),
                csv_row(extent_percent="0"),
                csv_row(participant_language="de"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(path)
    message = str(invalid.value)
    assert message.splitlines()[0] == f"{path}: 3 errors, nothing was created"
    assert [(e.row, e.field) for e in invalid.value.errors] == [
        (2, "participant_email"),
        (4, "extent_percent"),
        (5, "participant_language"),
    ]
    assert "row 2, participant_email: value is not a valid email address" in message
    assert "row 4, extent_percent: Input should be greater than or equal to 1" in message
    assert "row 5, participant_language: Input should be 'sv' or 'en'" in message


def test_yaml_with_three_broken_rows_names_each_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "proposals.yaml"
    rows = [
        yaml_proposal(),
        yaml_proposal(end="2027-01-15"),
        yaml_proposal(host_contact__email="jan.berg@"),
        yaml_proposal(),
        yaml_proposal(extent_percent=101),
    ]
    path.write_text(yaml.safe_dump(rows, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(path)
    assert [(e.row, e.field) for e in invalid.value.errors] == [
        (2, "end"),
        (3, "host_contact.email"),
        (5, "extent_percent"),
    ]
    message = str(invalid.value)
    assert "row 2, end: must be after the start date 2027-02-01" in message
    assert "row 5, extent_percent: Input should be less than or equal to 100" in message
    assert len(message.splitlines()) == 4


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"participant_email": "nobody"}, "participant_email", "not a valid email address"),
        ({"end": "2027-02-01"}, "end", "must be after the start date 2027-03-01"),
        ({"extent_percent": "0"}, "extent_percent", "greater than or equal to 1"),
        ({"extent_percent": "101"}, "extent_percent", "less than or equal to 100"),
        ({"participant_language": "de"}, "participant_language", "'sv' or 'en'"),
        ({"direction": "sideways"}, "direction", "'incoming' or 'outgoing'"),
        ({"start": "1 March"}, "start", "valid date"),
        ({"purpose": ""}, "purpose", "Field required"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_kind_of_bad_value_gets_a_clear_error(
    tmp_path: Path, change: dict[str, str], field: str, words: str
) -> None:
    header = CSV_HEADER + ",direction"
    values = {"direction": "outgoing", **change}
    row = csv_row(**{k: v for k, v in values.items() if k != "direction"})
    path = tmp_path / "one.csv"
    path.write_text(f"{header}\n{row},{values['direction']}\n", encoding="utf-8")
    [error] = errors_of(path)
    assert error.startswith(f"row 1, {field}: "), error
    assert words in error, error


def test_every_error_of_one_row_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    row = csv_row(end="2027-01-01", extent_percent="101", host_contact_email="x")
    path.write_text(f"{CSV_HEADER}\n{row}\n", encoding="utf-8")
    assert [e.split(":")[0] for e in errors_of(path)] == [
        "row 1, host_contact_email",
        "row 1, end",
        "row 1, extent_percent",
    ]


def test_unknown_column_and_missing_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(
        CSV_HEADER.replace("purpose", "purpse") + "\n" + csv_row() + "\n", encoding="utf-8"
    )
    errors = errors_of(path)
    assert "row 1, purpose: Field required" in errors
    assert any(e.startswith("row 1, purpse: Extra inputs are not permitted") for e in errors)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.yaml", None, "file: not found"),
        ("broken.yaml", "programme: [unclosed\n", r"line \d+: is not valid YAML"),
        ("empty.yaml", "", "file: holds no proposals"),
        ("empty.csv", CSV_HEADER + "\n", "file: holds no proposals"),
        ("binary.csv", None, "file: is neither UTF-8 nor Windows-1252 text"),
        ("scalar.yaml", "just words\n", "row 1, row: is not a mapping"),
    ],
)
def test_unreadable_files_get_one_clear_line(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if name == "binary.csv":  # 0x81 and 0x8d: not UTF-8, and no character in Windows-1252
        path.write_bytes((CSV_HEADER + "\n").encode() + b"\x81\x8d\xc3\x28\n")
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as invalid:
        load_proposals(path)
    lines = str(invalid.value).splitlines()
    assert len(lines) == 2
    assert re.search(expected, lines[1]), lines


def test_a_programme_file_with_errors_lists_them(tmp_path: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8"))
    data["direction"] = "up"
    data["coordinator"]["email"] = "johan"
    data["approvals"] = []
    path = tmp_path / "programme.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInput) as invalid:
        load_programme(path)
    fields = [e.field for e in invalid.value.errors]
    assert fields == ["direction", "coordinator.email", "approvals"]


def test_a_programmes_own_agreement_template_is_kept_as_a_name(tmp_path: Path) -> None:
    """The name is resolved in the agreement templates folder when the programme is
    registered (tests/test_agreement_templates.py), never next to the programme file."""
    source = (EXAMPLES / "programme-paus.yaml").read_text(encoding="utf-8")
    programme_file = tmp_path / "programme.yaml"
    programme_file.write_text(
        source.replace("template: secondment", "template: own.{language}.html"), encoding="utf-8"
    )
    programme, _ = load_programme(programme_file)
    assert programme.agreement.template == "own.{language}.html"
