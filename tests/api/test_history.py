"""GET /v1/requests: a key's own requests, newest first, cursor-paged; and output.poster."""

from __future__ import annotations

import pytest

from tests.api.conftest import PRO, STANDARD, Api
from tests.api.test_errors import assert_error


def listed(api: Api, **params) -> dict:
    response = api.client.get("/v1/requests", params=params, headers=api.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_history_pages_newest_first_and_does_not_shift_when_requests_arrive(api: Api) -> None:
    ids = [api.submit(STANDARD, {"prompt": f"shot {i}", "duration": 3}).json()["request_id"] for i in range(5)]
    first = listed(api, limit=2)
    assert [r["request_id"] for r in first["requests"]] == [ids[4], ids[3]]
    assert first["requests"][0]["input"]["prompt"] == "shot 4" and first["requests"][0]["status"] == "in_queue"
    assert first["requests"][0]["input"]["shot_type"] == "intelligent"  # the validated input, defaults filled
    api.submit(PRO, {"prompt": "arrives between pages"})
    second = listed(api, limit=2, cursor=first["next_cursor"])
    assert [r["request_id"] for r in second["requests"]] == [ids[2], ids[1]]
    last = listed(api, limit=2, cursor=second["next_cursor"])
    assert [r["request_id"] for r in last["requests"]] == [ids[0]] and last["next_cursor"] is None


def test_history_shows_only_the_keys_own_requests(api: Api) -> None:
    api.submit(PRO)
    _, other = api.store.create_key("other")
    theirs = api.client.get("/v1/requests", headers={"Authorization": f"Bearer {other}"}).json()
    assert theirs == {"requests": [], "next_cursor": None}
    assert_error(api.client.get("/v1/requests"), 401, 401001)


def test_a_completed_request_lists_its_video_and_poster(api: Api, tmp_path) -> None:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    storage = api.client.app.state.services.storage
    for name, data in (("video.mp4", b"\x00" * 100), ("poster.jpg", b"\xff\xd8\xff" + b"\x00" * 50)):
        (tmp_path / name).write_bytes(data)
        storage.put(f"{rid}/1-ab/{name}", tmp_path / name)
    api.store.complete(rid, "w", f"{rid}/1-ab/video.mp4", {}, poster_key=f"{rid}/1-ab/poster.jpg")
    item = listed(api)["requests"][0]
    result = api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()
    for output in (item["output"], result["output"]):
        assert set(output) == {"video", "poster"} and "/poster.jpg?" in output["poster"]
        poster = api.client.get(output["poster"].removeprefix("http://127.0.0.1:8000"))
        assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"


def test_a_result_without_a_poster_has_the_seeds_output_shape(api: Api, tmp_path) -> None:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    (tmp_path / "v.mp4").write_bytes(b"\x00" * 10)
    api.client.app.state.services.storage.put(f"{rid}/video.mp4", tmp_path / "v.mp4")
    api.store.complete(rid, "w", f"{rid}/video.mp4", {})  # done by a worker from before posters
    assert set(api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()["output"]) == {"video"}


@pytest.mark.parametrize("params,field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "ten"}, "limit"),
    ({"cursor": "garbage"}, "cursor"), ({"cursor": "c2VxOi0x"}, "cursor"), ({"cursor": "x" * 65}, "cursor"),
])
def test_bad_paging_is_a_422_naming_the_parameter(api: Api, params: dict, field: str) -> None:
    body = assert_error(api.client.get("/v1/requests", params=params, headers=api.headers), 422, 422001)
    assert body["detail"][0]["loc"] == ["query", field] and field in body["error_message"]


def test_a_cursor_of_seq_0_is_a_page_after_everything_not_the_first_page(api: Api) -> None:
    """A cursor names the last request of a page and the next page is older; nothing is older than
    seq 0, so its page is empty (docs/http-api.md, History), as it is for any cursor past the oldest."""
    from reelserve.api.routes.history import encode_cursor

    ids = [api.submit(STANDARD, {"prompt": f"shot {i}", "duration": 3}).json()["request_id"] for i in range(2)]
    assert listed(api, cursor=encode_cursor(0)) == {"requests": [], "next_cursor": None}
    oldest = api.store.get(ids[0]).seq
    assert listed(api, cursor=encode_cursor(oldest)) == {"requests": [], "next_cursor": None}
    assert [r["request_id"] for r in listed(api, cursor=encode_cursor(oldest + 1))["requests"]] == [ids[0]]


def test_a_bad_parameter_is_named_where_then_which_with_pydantics_reason_in_the_message(api: Api) -> None:
    body = assert_error(api.client.get("/v1/requests", params={"limit": 0}, headers=api.headers), 422, 422001)
    expected = "Invalid request: query limit: Input should be greater than or equal to 1. Fix it and send it again."
    assert body["error_message"] == expected, body
    assert body["detail"] == [{"loc": ["query", "limit"], "msg": "Input should be greater than or equal to 1",
                               "type": "greater_than_equal"}], body["detail"]
