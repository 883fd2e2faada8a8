"""Every endpoint's response shape, per the contract (no worker: the tests drive the store directly)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import PRO, PRO_I2V, STANDARD, STANDARD_I2V, UHD, UHD_I2V, Api

BASE = "http://127.0.0.1:8000"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.parametrize("model_id", [PRO, STANDARD])
def test_submit_returns_id_and_absolute_urls(api: Api, model_id: str) -> None:
    response = api.submit(model_id)
    assert response.status_code == 200
    body = response.json()
    rid = body["request_id"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,128}", rid)
    assert body == {
        "request_id": rid,
        "status_url": f"{BASE}/v1/requests/{rid}/status",
        "result_url": f"{BASE}/v1/requests/{rid}/result",
        "cancel_url": f"{BASE}/v1/requests/{rid}/cancel",
    }
    stored = api.store.get(rid)
    assert stored.model_id == model_id and stored.owner == api.key_id


def test_stored_input_has_defaults_filled_in(api: Api) -> None:
    rid = api.submit(PRO, {"prompt": "a cat", "duration": "7"}).json()["request_id"]
    assert api.store.get(rid).input == {
        "prompt": "a cat", "negative_prompt": None, "duration": 7, "aspect_ratio": "16:9", "cfg_scale": 0.5,
        "sound": True, "multi_prompt": [], "seed": None, "enhance_prompt": None, "shot_type": "customize",
    }


def test_status_in_queue_reports_position(api: Api) -> None:
    ids = [api.submit().json()["request_id"] for _ in range(3)]
    body = api.client.get(f"/v1/requests/{ids[2]}/status", headers=api.headers).json()
    assert body == {
        "request_id": ids[2], "status": "in_queue", "queue_position": 2,
        "status_url": f"{BASE}/v1/requests/{ids[2]}/status", "result_url": f"{BASE}/v1/requests/{ids[2]}/result",
    }


def test_status_in_progress_reports_progress(api: Api) -> None:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    api.store.set_progress(rid, "w", 37.5)
    body = api.client.get(f"/v1/requests/{rid}/status", headers=api.headers).json()
    assert body["status"] == "in_progress" and body["progress"] == 37.5 and "queue_position" not in body


def test_result_while_unfinished_has_state_and_no_output(api: Api) -> None:
    rid = api.submit().json()["request_id"]
    body = api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()
    assert body["status"] == "in_queue" and "output" not in body and "error" not in body
    assert body["model_id"] == STANDARD and ISO.match(body["created_at"])
    assert body["started_at"] is None and body["finished_at"] is None


def test_result_completed_has_signed_video_and_metadata(api: Api, tmp_path) -> None:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\x00" * 1000)
    api.client.app.state.services.storage.put(f"{rid}/video.mp4", video)
    api.store.complete(rid, "w", f"{rid}/video.mp4", {"width": 256, "height": 144})
    body = api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()
    assert body["status"] == "completed"
    assert body["output"]["video"].startswith(f"{BASE}/media/{rid}/video.mp4?expires=")
    assert "signature=" in body["output"]["video"]
    assert body["metadata"] == {"width": 256, "height": 144}
    assert all(ISO.match(body[k]) for k in ("created_at", "started_at", "finished_at"))


def test_result_failed_carries_error(api: Api) -> None:
    rid = api.submit().json()["request_id"]
    api.store.claim("w", 30)
    api.store.fail(rid, "w", "invalid_input", "The engine rejected this input.", {"seed": 3})
    body = api.client.get(f"/v1/requests/{rid}/result", headers=api.headers).json()
    assert body["status"] == "failed"
    assert body["error"] == {"code": "invalid_input", "message": "The engine rejected this input."}
    assert "output" not in body


def test_cancel_queued_then_running_then_repeat(api: Api) -> None:
    queued, running = api.submit().json()["request_id"], api.submit().json()["request_id"]
    body = api.client.post(f"/v1/requests/{queued}/cancel", headers=api.headers).json()
    assert body == {"request_id": queued, "status": "cancelled", "outcome": "cancelled"}
    assert api.store.claim("w", 30).id == running  # the cancelled one is skipped
    body = api.client.post(f"/v1/requests/{running}/cancel", headers=api.headers).json()
    assert body == {"request_id": running, "status": "in_progress", "outcome": "not_cancellable"}
    again = api.client.post(f"/v1/requests/{queued}/cancel", headers=api.headers).json()
    assert again["outcome"] == "cancelled"  # a retried cancel still reads as done


def test_models_list_and_detail_serve_corrected_schemas(api: Api) -> None:
    models = api.client.get("/v1/models").json()["models"]
    assert [m["model_id"] for m in models] == [PRO, STANDARD, UHD, PRO_I2V, STANDARD_I2V, UHD_I2V]
    for model_id, shot_types, default in [(PRO, ["customize"], "customize"),
                                          (STANDARD, ["intelligent", "customize"], "intelligent"),
                                          (UHD, ["customize"], "customize"), (PRO_I2V, ["customize"], "customize"),
                                          (STANDARD_I2V, ["intelligent", "customize"], "intelligent"),
                                          (UHD_I2V, ["customize"], "customize")]:
        card = api.client.get(f"/v1/models/{model_id}").json()
        assert card == next(m for m in models if m["model_id"] == model_id), f"the list and {model_id}'s card differ"
        schema = card["input_schema"]
        props = schema["properties"]
        assert props["cfg_scale"]["type"] == "number"  # the seeds say "float"
        assert props["shot_type"]["enum"] == shot_types and props["shot_type"]["default"] == default
        shot = schema["$defs"]["Shot"]
        assert shot["type"] == "object" and set(shot["properties"]) == {"prompt", "duration"}
        assert props["multi_prompt"]["maxItems"] == 20
        assert (props["duration"]["minimum"], props["duration"]["maximum"]) == (3, 15)
        images = "image-to-video" in model_id
        assert card["kind"] == ("image-to-video" if images else "text-to-video"), card["kind"]
        assert schema["required"] == (["prompt", "start_image_url"] if images else ["prompt"]), schema["required"]
        assert schema["additionalProperties"] is False
        assert ("aspect_ratio" in props) is not images and ("start_image_url" in props) is images, list(props)
        assert images or list(props)[:4] == ["prompt", "negative_prompt", "duration", "aspect_ratio"], list(props)


def test_openapi_includes_model_schemas_and_routes(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert f"/v1/models/{PRO}" in spec["paths"] and f"/v1/models/{STANDARD}" in spec["paths"]
    ref = spec["paths"][f"/v1/models/{PRO}"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert spec["components"]["schemas"][name]["properties"]["shot_type"]["enum"] == ["customize"]
    assert {"/v1/requests/{request_id}/status", "/v1/requests/{request_id}/result",
            "/v1/requests/{request_id}/cancel", "/healthz"} <= set(spec["paths"])


def test_health_reports_workers_and_engine_to_a_key_holder(api: Api) -> None:
    body = api.client.get("/v1/health", headers=api.headers).json()
    assert body["status"] == "ok" and body["engine"] is None and body["workers"] == []
    api.store.heartbeat_worker("w1", {"state": "ready", "weights": "tiny", "random_weights": True})
    body = api.client.get("/v1/health", headers=api.headers).json()
    assert body["engine"]["weights"] == "tiny" and body["workers"][0]["id"] == "w1"
    assert api.client.get("/v1/health").status_code == 401


def test_healthz_tells_a_load_balancer_ok_and_nothing_else(api: Api) -> None:
    api.store.heartbeat_worker("host-a:4242:abc", {"state": "ready", "weights": "tiny", "device": "cpu"})
    response = api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_is_503_when_the_database_is_down(api: Api) -> None:
    api.store.close()
    api.store.path.unlink()
    api.store.path.mkdir()  # the database file is now a directory: nothing can open it
    response = api.client.get("/healthz")
    assert response.status_code == 503, response.text
    assert response.json()["error_code"] == 503001
