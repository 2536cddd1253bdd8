"""The routing scheme (``neo4j://``) against the session's single local server, and reads in
read access mode: what a cluster needs (reads to followers / read replicas, writes to the
leader). A real cluster is not available here; docs/neo4j.md says what that leaves untested."""

from __future__ import annotations

from collections.abc import Iterator

import neo4j
import pytest

from grapekg.errors import DatabaseError
from grapekg.kg import server_state
from grapekg.kg.store import Store
from grapekg.settings import Settings
from tests.conftest import cy


def _routing_store(neo4j_settings: Settings) -> Store:
    st = server_state.running_state(neo4j_settings)
    assert st is not None and st.uri.startswith("bolt://")
    uri = "neo4j://" + st.uri.removeprefix("bolt://")
    return Store(uri, "neo4j", server_state.read_password(neo4j_settings), "neo4j")


@pytest.fixture
def routed(store: Store, neo4j_settings: Settings) -> Iterator[Store]:
    """A Store on the session server through ``neo4j://`` (empty graph: ``store`` wiped it)."""
    s = _routing_store(neo4j_settings)
    try:
        yield s
    finally:
        s.close()


def test_neo4j_uri_reads_and_writes_through_the_routing_driver(routed, store):
    assert isinstance(routed._driver, neo4j.Neo4jDriver)  # the routing driver, not Bolt's
    routed.ping()
    c = routed.write(cy("CREATE (:RoutingProbe {k: $k}), (:RoutingProbe {k: $k + 1})"), {"k": 5})
    assert c.nodes_created == 2
    rows = routed.read(cy("MATCH (n:RoutingProbe) RETURN n.k AS k ORDER BY k"))
    assert rows == [{"k": 5}, {"k": 6}]
    got = routed.read_write(cy("MATCH (n:RoutingProbe {k: 6}) SET n.k = 7 RETURN n.k AS k"))
    assert got == [{"k": 7}]
    routed.write_many(
        [
            (cy("MATCH (n:RoutingProbe {k: $k}) DELETE n"), {"k": 5}),
            (cy("CREATE (:RoutingProbe {k: $k})"), {"k": 9}),
        ]
    )
    # the other (bolt://) connection sees what the routed one wrote
    assert store.read(cy("MATCH (n:RoutingProbe) RETURN n.k AS k ORDER BY k")) == [
        {"k": 7},
        {"k": 9},
    ]
    assert routed.server_version().startswith("5.")


def test_neo4j_uri_from_the_environment_is_used(neo4j_settings):
    """``NEO4J_URI=neo4j://...`` (with the password) makes Store.connect use that server."""
    st = server_state.running_state(neo4j_settings)
    assert st is not None
    env = {
        "NEO4J_URI": "neo4j://" + st.uri.removeprefix("bolt://"),
        "NEO4J_PASSWORD": server_state.read_password(neo4j_settings),
    }
    s = Settings.load(env=env, data_dir=neo4j_settings.data_dir / "unused")
    with Store.connect(s) as routed:
        assert routed.uri.startswith("neo4j://")
        assert routed.read(cy("RETURN 1 AS one")) == [{"one": 1}]


@pytest.mark.parametrize("scheme", ["bolt", "neo4j"])
def test_every_read_path_is_in_read_access_mode(store, routed, scheme):
    """A write statement sent through a read path is refused by the server: the read went
    out in read access mode (the route a cluster sends to followers / read replicas)."""
    s = store if scheme == "bolt" else routed
    with pytest.raises(DatabaseError, match="read access mode"):
        s.read(cy("CREATE (:RoutingProbe {k: 1}) RETURN 1 AS one"))
    with s.session() as sess, pytest.raises(neo4j.exceptions.ClientError, match="read access"):
        sess.run(cy("CREATE (:RoutingProbe {k: 2})").text).consume()
    with s.session(write=True) as sess:
        sess.run(cy("CREATE (:RoutingProbe {k: 3})").text).consume()
    assert s.read(cy("MATCH (n:RoutingProbe) RETURN n.k AS k")) == [{"k": 3}]


def test_reads_follow_the_stores_own_writes(routed):
    """Every call of a Store shares one bookmark manager: a write advances the bookmark the
    next read waits for (in a cluster, a follower serves it only once it has that write)."""
    bm = routed._driver.execute_query_bookmark_manager
    routed.read(cy("RETURN 1 AS one"))
    before = set(bm.get_bookmarks())
    routed.write(cy("CREATE (:RoutingProbe {k: 1})"))
    after_write = set(bm.get_bookmarks())
    assert after_write and after_write != before
    routed.read_write(cy("MATCH (n:RoutingProbe) SET n.k = 2 RETURN n.k AS k"))
    after_rw = set(bm.get_bookmarks())
    assert after_rw != after_write
    routed.run_auto(cy("MATCH (n:RoutingProbe) SET n.k = 3"))
    assert set(bm.get_bookmarks()) != after_rw
    assert routed.read(cy("MATCH (n:RoutingProbe) RETURN n.k AS k")) == [{"k": 3}]
