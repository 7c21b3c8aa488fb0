"""Contract: the dashboard's raw ARM link list says exactly what the SDK's typed list says.

``AzureClient.list_links_raw`` skips the SDK's models (their cost was most of a refresh at 500
links); this checks, against the lab's ARM over HTTPS, that nothing is lost or changed on the
way: same links in the same order, same flattened wire dicts, same normalised report — across
pages (the `scale` lab pages its lists by 50) and in a world with broken links.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from milink_tui.engine.dashboard import normalize_arm, utcnow
from milink_tui.services.dashboard_sources import ArmDashboardSource, lab_sources
from milink_tui.services.lab_process import LabProcess, control

CASES = {
    "linked": [("sqlmi-lab-gp", "rg-milink-lab")],
    "broken": [("sqlmi-lab-gp", "rg-milink-lab")],
    "scale": [("sqlmi-scale-01", "rg-scale"), ("sqlmi-scale-02", "rg-scale")],
}


@pytest.mark.parametrize("scenario", list(CASES))
async def test_raw_link_list_matches_the_sdk_list(lab_factory, tmp_path: Path, scenario: str) -> None:
    lab: LabProcess = lab_factory(scenario)
    # the same lab state for both calls: lab time all but stops (ARM times move with it)
    control(lab.info.control_url, "/clock", {"speed": 1e-9})
    sources = await lab_sources(lab.info, tmp_path, managed_instances=CASES[scenario])
    try:
        for src in sources:
            if not isinstance(src, ArmDashboardSource):
                continue
            raw = await src.client.list_links_raw(src.mi)
            sdk = await src.client.list_links(src.mi)
            assert raw.items, f"{scenario}: no links on {src.mi.name}"
            assert [x["name"] for x in raw.items] == [x["name"] for x in sdk]
            assert raw.items == sdk
            if scenario == "scale":
                assert raw.pages == 2  # 100 links, pages of 50: nextLink followed
            at = utcnow()
            assert (normalize_arm(src.mi.name, src.mi.resource_group, raw.items, at).links
                    == normalize_arm(src.mi.name, src.mi.resource_group, sdk, at).links)
    finally:
        for src in sources:
            await src.close()


async def test_the_dashboard_source_no_longer_reaches_into_the_client() -> None:
    """The source uses the client's public raw list, not its private error mapping or the SDK."""
    import inspect

    from milink_tui.services import dashboard_sources

    text = inspect.getsource(dashboard_sources)
    assert "_mapped" not in text and "azure.mgmt" not in text and "list_links_raw" in text


class _FakeResponse:
    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status_code = body, status

    async def read(self) -> bytes:
        return self.body

    def raise_for_status(self) -> None:
        return None


class _FakeSql:
    """What list_links_raw needs of the SDK client: its API version, base URL and pipeline client
    (``_client``: send_request and format_url; here the fake is its own pipeline client)."""

    def __init__(self, pages: list[bytes]) -> None:
        self.pages = pages
        self.urls: list[str] = []

        class _Config:
            api_version = "2024-05-01-preview"
            base_url = "https://arm.example"

        self._config = _Config()
        self._client = self

    def format_url(self, url: str, endpoint: str) -> str:  # azure-core joins a path to the endpoint
        return url if "://" in url else endpoint + url

    async def send_request(self, request, stream: bool = False) -> _FakeResponse:
        assert stream  # the SDK must not decode the body a second time
        self.urls.append(request.url)
        return _FakeResponse(self.pages[len(self.urls) - 1])


class _FakeSession:
    def __init__(self, sql: _FakeSql) -> None:
        self._client = sql

    def sql(self, subscription_id: str) -> _FakeSql:
        return self._client

    def reader(self, subscription_id: str) -> _FakeSql:
        return self._client


async def test_raw_list_follows_next_links_and_says_when_a_page_is_not_json() -> None:
    import json

    from milink_tui.clients.azure import AzureClient
    from milink_tui.clients.azure_errors import SERVER, AzureError
    from milink_tui.engine.plan import ManagedInstanceRef

    mi = ManagedInstanceRef("sqlmi-x", "rg-x", "00000000-0000-0000-0000-000000000001", "sqlmi-x.lab")
    page1 = {"value": [{"name": "DAG_a", "properties": {"databases": [{"databaseName": "a"}]}}],
             "nextLink": "https://arm.example/next?page=2"}
    page2 = {"value": [{"name": "DAG_b", "id": "/x/DAG_b", "properties": {"replicationMode": "Async"}}]}
    sql = _FakeSql([json.dumps(page1).encode(), json.dumps(page2).encode()])
    raw = await AzureClient(_FakeSession(sql)).list_links_raw(mi)  # type: ignore[arg-type]
    assert raw.pages == 2 and sql.urls[1] == "https://arm.example/next?page=2"
    assert sql.urls[0].startswith("https://arm.example/subscriptions/00000000-0000-0000-0000-000000000001/")
    assert raw.items == [{"name": "DAG_a", "databases": [{"databaseName": "a"}]},
                         {"name": "DAG_b", "id": "/x/DAG_b", "replicationMode": "Async"}]

    bad = _FakeSql([b"<html>502 Bad Gateway</html>"])
    with pytest.raises(AzureError) as err:
        await AzureClient(_FakeSession(bad)).list_links_raw(mi)  # type: ignore[arg-type]
    assert err.value.cause == SERVER and "not JSON" in str(err.value) and "sqlmi-x" in str(err.value)
