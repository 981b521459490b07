"""scenarios/scenario.schema.json: a valid JSON Schema (draft 2020-12) that
accepts every scenario of the library and the loader's valid examples, and
rejects the schema-level mistakes of the loader's malformed corpus.

The corpus (tests/scenarios/malformed/) names each file after what is wrong
with it: syntax-* is not JSON, schema-* is JSON the schema rejects, semantic-*
is valid against the schema and only the loader sees the mistake (a modem
index beyond setup.modems, a partition not in that modem's list, an unknown
errno name, hex that is not whole sectors, a duplicate key). The C++ loader
test (tests/scenarios/loader_test.cpp) checks each file's exact error.

Needs no build: Debian's python3-jsonschema (ci/setup.sh installs it)."""
import json
import pathlib

import jsonschema
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO / "scenarios" / "scenario.schema.json"
LIBRARY = REPO / "scenarios"
CORPUS = REPO / "tests" / "scenarios" / "malformed"
VALID = REPO / "tests" / "scenarios" / "valid"
CATEGORIES = ("syntax-", "schema-", "semantic-")


def strict_json(text: str):
    """json.loads without Python's extensions (NaN, Infinity), as nlohmann reads JSON."""

    def reject_constant(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=reject_constant)


@pytest.fixture(scope="module")
def schema():
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema):
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, document):
    return sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))


def describe(errors):
    return "; ".join(f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:200]}" for e in errors[:5])


def test_schema_is_a_valid_draft_2020_12_schema(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


NARROWING = ("/if/", "/then/", "/else/", "/not/", "/dependentSchemas/")


def test_every_property_is_described(schema):
    """Editors show `description` on hover: every property has one (where it
    is defined; if/then/else and the like only narrow it)."""
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict) and not any(n in where + "/" for n in NARROWING):
                    for name, prop in value.items():
                        narrowing = isinstance(prop, dict) and set(prop) <= {"const", "enum"}
                        if isinstance(prop, dict) and not narrowing and "description" not in prop:
                            missing.append(f"{where}/properties/{name}")
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")

    walk(schema, "#")
    assert not missing, f"properties without a description: {missing}"


def test_objects_are_closed(schema):
    """Unknown keys are errors everywhere, as in the loader."""
    open_objects = []

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node and "$ref" not in node and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")

    walk(schema, "#")
    # Subschemas inside if/then/else, oneOf branches and the like only narrow
    # an object that is closed where it is defined.
    open_objects = [w for w in open_objects if not any(n in w + "/" for n in NARROWING + ("Of/",))]
    assert not open_objects, f"objects that allow unknown keys: {open_objects}"


def library_files():
    return sorted(p for p in LIBRARY.rglob("*.json") if not p.name.endswith(".schema.json"))


def test_library_scenarios_validate(validator):
    """Every scenarios/**/*.json; passes with none (the library grows separately)."""
    failures = {}
    for path in library_files():
        errors = schema_errors(validator, strict_json(path.read_text(encoding="utf-8")))
        if errors:
            failures[str(path.relative_to(REPO))] = describe(errors)
    assert not failures, failures


def test_valid_examples_validate(validator):
    paths = sorted(VALID.glob("*.json"))
    assert paths, f"no valid examples in {VALID}"
    for path in paths:
        errors = schema_errors(validator, strict_json(path.read_text(encoding="utf-8")))
        assert not errors, f"{path.name}: {describe(errors)}"


def corpus_files():
    return sorted(CORPUS.glob("*.json"))


def test_corpus_files_are_categorised():
    files = corpus_files()
    assert len(files) >= 35
    uncategorised = [p.name for p in files if not p.name.startswith(CATEGORIES)]
    assert not uncategorised, f"corpus files must start with {CATEGORIES}: {uncategorised}"
    for prefix in CATEGORIES:
        assert any(p.name.startswith(prefix) for p in files), f"no {prefix}* files in the corpus"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_corpus_file_against_the_schema(validator, path):
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    if path.name.startswith("syntax-"):
        with pytest.raises(ValueError):
            strict_json(text)
        return
    document = strict_json(text)
    errors = schema_errors(validator, document)
    if path.name.startswith("schema-"):
        assert errors, f"{path.name}: the schema accepts a schema-level mistake"
    else:
        assert not errors, (
            f"{path.name} is marked semantic (only the loader sees it) but the schema rejects it: "
            f"{describe(errors)}; rename it schema-*"
        )
