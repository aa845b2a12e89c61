from __future__ import annotations
import json
from tests.support import Api, body, create
from tests.support.stream import deliver_changes, poller


def test_explore(api: Api) -> None:
    c = create(api, city="X")
    cid = c["customer_id"]
    r = api.put(f"/customers/{cid}", {"city": "Y"})
    print(r.headers)
    print(deliver_changes())
    h = api.get(f"/customers/{cid}/history")
    print(json.dumps(body(h), default=str, indent=1))
    e = api.get("/events")
    print(json.dumps(body(e), default=str, indent=1))
    print(api.delete(f"/customers/{cid}").status_code)
    print(api.get(f"/customers/{cid}").body)
    print(deliver_changes())
    print(api.post(f"/customers/{cid}/restore").body)
    print(deliver_changes())
    print(api.post(f"/customers/{cid}/erasure").body)
    print(deliver_changes())
    print(json.dumps(body(api.get(f"/customers/{cid}/history")), default=str, indent=1))
    print(json.dumps(body(api.get("/events?limit=100")), default=str, indent=1))
    print(poller(fresh=True).poll_once())
