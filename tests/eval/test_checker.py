"""BFCL's AST rules on real BFCL records (the sample shipped with strictcall)."""

from __future__ import annotations

import pytest

from strictcall.eval.checker import check, normalize
from strictcall.eval.data import ALL_CATEGORIES, NO_CALL, SOME_CALL, Item, load_category


def item(category: str, id_: str) -> Item:
    return next(i for i in load_category(category) if i.id == id_)


def verdict(it: Item, calls: list[dict]):
    return check(it.category, it.functions, calls, it.ground_truth)


def _first(values: list):
    return next(v for v in values if v != "")


def _pick(answer):
    """A value written as the answer's first accepted one (dicts: per key, optional left out)."""
    if isinstance(answer, dict):
        return {
            k: _pick(_first(vs)) if isinstance(vs, list) else vs
            for k, vs in answer.items()
            if not isinstance(vs, list) or "" not in vs
        }
    if isinstance(answer, list):
        return [_pick(v) for v in answer]
    return answer


def right_answer(it: Item) -> list[dict]:
    """The calls the ground truth describes: first accepted value, optional parameters left out."""
    calls = []
    for expected in it.ground_truth or []:
        for name, accepted in expected.items():
            function = next(f for f in it.functions if f["name"] == name)
            required = function["parameters"].get("required", [])
            args = {
                p: _pick(_first(vs)) for p, vs in accepted.items() if "" not in vs or p in required
            }
            calls.append({name: args})
    return calls


ANSWERED = [c for c in ALL_CATEGORIES if c not in NO_CALL | SOME_CALL]


@pytest.mark.parametrize("category", ANSWERED)
def test_the_ground_truth_itself_is_right_for_every_shipped_record(category):
    items = load_category(category)
    assert len(items) >= 15
    wrong = [(i.id, v.reason) for i in items if not (v := verdict(i, right_answer(i)))]
    assert wrong == []


@pytest.mark.parametrize("category", [c for c in ANSWERED if "parallel" in c])
def test_parallel_calls_are_right_in_any_order(category):
    items = load_category(category)
    for it in items:
        calls = right_answer(it)
        assert verdict(it, calls[::-1]), it.id
        assert verdict(it, calls[1:] + calls[:1]), it.id


def test_simple_call_right_and_each_way_of_being_wrong():
    it = item("simple_python", "simple_python_0")  # calculate_triangle_area base 10 height 5
    name = "calculate_triangle_area"
    assert verdict(it, [{name: {"base": 10, "height": 5}}])  # unit may be left out
    assert verdict(it, [{name: {"base": 10, "height": 5, "unit": "units"}}])
    cases = {
        "wrong value": {name: {"base": 11, "height": 5}},
        "missing required": {name: {"base": 10}},
        "unexpected param": {name: {"base": 10, "height": 5, "color": "red"}},
        "wrong optional value": {name: {"base": 10, "height": 5, "unit": "cm"}},
        "string for integer": {name: {"base": "10", "height": 5}},
        "float for integer": {name: {"base": 10.0, "height": 5}},
        "bool for integer": {name: {"base": True, "height": 5}},
        "wrong function": {"calculate_area": {"base": 10, "height": 5}},
    }
    for why, call in cases.items():
        v = verdict(it, [call])
        assert not v, why
        assert v.reason, why
    assert not verdict(it, [])
    assert not verdict(it, [{name: {"base": 10, "height": 5}}] * 2)


def test_an_answer_without_empty_string_must_be_given():
    it = item("live_simple", "live_simple_180-105-0")  # service_id required; rating not
    assert not verdict(it, [{"get_service_id": {"service_id": 2, "province_id": 1}}])


def test_an_int_is_accepted_for_a_float_even_inside_a_list():
    it = item("live_simple", "live_simple_180-105-0")  # rating: float, answer 4.0
    assert verdict(it, [{"get_service_id": {"service_id": 2, "province_id": 1, "rating": 4}}])
    it = item("live_simple", "live_simple_116-72-0")  # numbers_list: array of float
    assert verdict(it, [{"sum_numbers": {"numbers_list": [133, 34]}}])
    assert verdict(it, [{"sum_numbers": {"numbers_list": [133.0, 34.0]}}])
    assert not verdict(it, [{"sum_numbers": {"numbers_list": [34, 133]}}])  # lists keep order
    assert not verdict(it, [{"sum_numbers": {"numbers_list": ["133", "34"]}}])


def test_strings_compare_as_bfcl_normalises_them():
    assert normalize("San Francisco, CA") == normalize("san francisco ca") == "sanfranciscoca"
    assert normalize("April 1, 2024") == normalize("april 1 2024")
    assert normalize("it's") == 'it"s'
    it = item("live_parallel", "live_parallel_1-0-1")  # Boston, MA and San Francisco, CA
    calls = [
        {"get_current_weather": {"location": "san francisco ca"}},
        {"get_current_weather": {"location": "BOSTON,MA", "unit": "fahrenheit"}},
    ]
    assert verdict(it, calls)
    calls[0] = {"get_current_weather": {"location": "San Francisco"}}
    assert not verdict(it, calls)


def test_a_list_value_must_be_one_of_the_accepted_lists():
    it = item("multiple", "multiple_10")  # columns: email and ssn, in either order
    args = {"db_name": "employees", "table": "personal_data", "operation": "delete"}
    name = "database.modify_columns"
    assert verdict(it, [{name: {**args, "columns": ["SSN", "email"]}}])
    assert not verdict(it, [{name: {**args, "columns": ["email"]}}])
    assert not verdict(it, [{name: {**args, "columns": ["email", "ssn", "phone"]}}])


def test_nested_dict_values_are_checked_key_by_key():
    it = item("live_multiple", "live_multiple_0-0-0")
    prefs = {
        "size": "large",
        "milk_type": "coconut",
        "sweetness_level": "extra",
        "temperature": "hot",
        "special_instructions": "boiling hot",
    }
    name = "ChaDri.change_drink"
    assert verdict(it, [{name: {"drink_id": "latte", "new_preferences": prefs}}])
    for change in ({"size": "small"}, {"extra_shot": True}):
        wrong = {**prefs, **change}
        assert not verdict(it, [{name: {"drink_id": "latte", "new_preferences": wrong}}])
    missing = {k: v for k, v in prefs.items() if k != "milk_type"}
    assert not verdict(it, [{name: {"drink_id": "latte", "new_preferences": missing}}])
    assert not verdict(it, [{name: {"drink_id": "latte", "new_preferences": "large"}}])


def test_a_value_in_the_answers_own_type_is_accepted_as_written():
    # in_unit_laundry is declared a string; its answer is False (BFCL's "variable" case).
    it = item("live_multiple", "live_multiple_737-167-8")
    args = {
        "area": "San Francisco, CA",
        "intent": "buy",
        "number_of_beds": 2,
        "number_of_baths": 3,
        "has_garage": True,
    }
    name = "Homes_2_FindHomeByArea"
    assert verdict(it, [{name: args}])
    assert verdict(it, [{name: {**args, "in_unit_laundry": False}}])
    assert not verdict(it, [{name: {**args, "in_unit_laundry": True}}])
    assert not verdict(it, [{name: {**args, "in_unit_laundry": "no"}}])


def test_multiple_means_the_right_one_of_several_functions():
    it = item("multiple", "multiple_0")
    assert verdict(it, [{"triangle_properties.get": {"side1": 5, "side2": 4, "side3": 3}}])
    assert not verdict(it, [{"circle_properties.get": {"radius": 5}}])


def test_parallel_needs_every_call_once():
    it = item("parallel", "parallel_0")  # Taylor Swift 20 min, Maroon 5 15 min
    swift = {"spotify.play": {"artist": "Taylor Swift", "duration": 20}}
    maroon = {"spotify.play": {"artist": "Maroon 5", "duration": 15}}
    assert verdict(it, [maroon, swift])
    assert not verdict(it, [swift, swift])
    assert not verdict(it, [swift])
    assert not verdict(it, [swift, maroon, maroon])
    assert not verdict(it, [swift, {"spotify.play": {"artist": "Maroon 5", "duration": 20}}])


def test_parallel_pairs_calls_where_a_first_come_pairing_would_not():
    # BFCL's parallel_178, as published: the first expected call accepts Microsoft or Apple on
    # January 1st, so pairing it with the first call that fits can take the call the third
    # one needs. A right answer must be right in any order.
    def expected(companies, date):
        return {"get_stock_price": {"company_name": companies, "date": [date], "exchange": [""]}}

    ground_truth = [
        expected(["Microsoft", "Apple"], "2022-01-01"),
        expected(["Microsoft"], "2022-02-01"),
        expected(["Apple"], "2022-01-01"),
        expected(["Apple"], "2022-02-01"),
    ]
    function = {
        "name": "get_stock_price",
        "parameters": {
            "type": "dict",
            "properties": {
                "company_name": {"type": "string"},
                "date": {"type": "string"},
                "exchange": {"type": "string"},
            },
            "required": ["company_name", "date"],
        },
    }

    def call(company, date):
        return {"get_stock_price": {"company_name": company, "date": date}}

    calls = [
        call("Apple", "2022-02-01"),
        call("Apple", "2022-01-01"),
        call("Microsoft", "2022-02-01"),
        call("Microsoft", "2022-01-01"),
    ]
    assert check("parallel", [function], calls, ground_truth)
    # Every expected call has a call that fits it, but the first and the third both need the
    # one Apple January call: no pairing uses each call once.
    calls[3] = call("Apple", "2022-02-01")
    v = check("parallel", [function], calls, ground_truth)
    assert not v
    assert "others need" in v.reason


@pytest.mark.parametrize("category", sorted(NO_CALL))
def test_irrelevance_is_right_only_without_a_call(category):
    it = load_category(category)[0]
    name = it.functions[0]["name"]
    assert verdict(it, [])
    assert not verdict(it, [{name: {}}])


def test_relevance_is_right_with_any_call():
    it = load_category("live_relevance")[0]
    assert not verdict(it, [])
    assert verdict(it, [{it.functions[1]["name"]: {"prompt": "anything"}}])
