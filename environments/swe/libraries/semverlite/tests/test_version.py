import pytest

from semverlite import InvalidVersion, Version


def test_parse_release():
    v = Version.parse("1.22.333")
    assert (v.major, v.minor, v.patch) == (1, 22, 333)
    assert v.prerelease == () and v.build == ()


def test_parse_prerelease_and_build():
    v = Version.parse("2.0.0-rc.1+build.7")
    assert v.prerelease == ("rc", "1")
    assert v.build == ("build", "7")


def test_parse_accepts_v_prefix():
    assert Version.parse("v1.2.3") == Version(1, 2, 3)
    assert Version.parse(" =1.2.3 ") == Version(1, 2, 3)


@pytest.mark.parametrize("text", ["1.2", "1.2.3.4", "a.b.c", "", "1.2.3-", "1.2.3+", "-1.2.3"])
def test_parse_rejects_malformed(text):
    with pytest.raises(InvalidVersion):
        Version.parse(text)


def test_parse_rejects_leading_zero_in_core():
    with pytest.raises(InvalidVersion):
        Version.parse("01.2.3")
    with pytest.raises(InvalidVersion):
        Version.parse("1.02.3")


def test_parse_rejects_leading_zero_in_numeric_prerelease():
    with pytest.raises(InvalidVersion):
        Version.parse("1.2.3-rc.01")
    assert Version.parse("1.2.3-0a").prerelease == ("0a",)


def test_parse_rejects_non_string():
    with pytest.raises(InvalidVersion):
        Version.parse(123)


def test_constructor_rejects_negative_numbers():
    with pytest.raises(InvalidVersion):
        Version(1, -1, 0)


def test_str_round_trip():
    for text in ["0.0.0", "1.2.3", "1.2.3-alpha.1", "1.2.3+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85"]:
        assert str(Version.parse(text)) == text


def test_repr_shows_text():
    assert repr(Version.parse("1.2.3-rc.1")) == "Version('1.2.3-rc.1')"


def test_release_ordering():
    assert Version.parse("1.0.0") < Version.parse("2.0.0") < Version.parse("2.1.0") < Version.parse("2.1.1")


def test_numeric_parts_compare_as_numbers():
    assert Version.parse("1.10.0") > Version.parse("1.9.0")
    assert Version.parse("1.0.10") > Version.parse("1.0.9")


def test_prerelease_is_lower_than_release():
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0")
    assert Version.parse("1.0.0") > Version.parse("1.0.0-rc.9")


def test_semver_spec_precedence_chain():
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
             "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    versions = [Version.parse(t) for t in chain]
    assert sorted(reversed(versions)) == versions


def test_numeric_prerelease_identifiers_compare_numerically():
    assert Version.parse("1.0.0-rc.2") < Version.parse("1.0.0-rc.10")


def test_numeric_identifier_sorts_before_alphanumeric():
    assert Version.parse("1.0.0-1") < Version.parse("1.0.0-alpha")


def test_longer_prerelease_is_higher_when_prefix_equal():
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1")


def test_build_metadata_ignored_in_equality_and_hash():
    a, b = Version.parse("1.0.0+one"), Version.parse("1.0.0+two")
    assert a == b
    assert len({a, b}) == 1


def test_compare_with_string():
    v = Version.parse("1.2.3")
    assert v == "1.2.3"
    assert v < "1.2.4"
    assert v.compare("1.2.3-rc.1") == 1


def test_bump_major():
    assert Version.parse("1.4.2").bump_major() == Version(2, 0, 0)
    assert Version.parse("2.0.0-rc.1").bump_major() == Version(2, 0, 0)


def test_bump_minor_resets_patch():
    assert str(Version.parse("1.4.2").bump_minor()) == "1.5.0"
    assert str(Version.parse("1.5.0-rc.1").bump_minor()) == "1.5.0"


def test_bump_patch():
    assert str(Version.parse("1.4.2").bump_patch()) == "1.4.3"
    assert str(Version.parse("1.4.3-rc.1").bump_patch()) == "1.4.3"


def test_bump_prerelease():
    assert str(Version.parse("1.4.2").bump_prerelease()) == "1.4.3-rc.0"
    assert str(Version.parse("1.4.3-rc.0").bump_prerelease()) == "1.4.3-rc.1"
    assert str(Version.parse("1.4.3-beta").bump_prerelease()) == "1.4.3-beta.0"


def test_is_prerelease():
    assert Version.parse("1.0.0-x").is_prerelease
    assert not Version.parse("1.0.0+x").is_prerelease
