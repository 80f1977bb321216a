"""Identical consecutive states are one version (issue #15): ``filing.distinct`` searched for a
counter-example over random histories of states, some already filed, some of unknown state."""
from __future__ import annotations

from hypothesis import given, strategies as st

from connector.cmis.filer import VersionSpec
from connector.model import Content
from connector.filing import distinct

STATES = st.lists(st.sampled_from(["", "A", "B", "C"]), max_size=12)


def _spec(n: int, state: str) -> VersionSpec:
    return VersionSpec(f"r{n}", Content.from_bytes(b"", "text/plain"), {}, state=state)


@given(STATES, st.one_of(st.none(), st.sampled_from(["A", "B"])))
def test_no_two_consecutive_filed_versions_share_a_state_and_every_revision_is_held(states, last):
    versions = [_spec(n, s) for n, s in enumerate(states)]
    pending, covered = distinct(versions, {"r-last": "obj-last"} if last else {},
                                 ("r-last", last) if last else None)
    assert sorted(v.revision_id for v in pending + [v for v, _ in covered]) == sorted(v.revision_id for v in versions)
    chain = ([("r-last", last)] if last else []) + [(v.revision_id, v.state) for v in pending]
    for (_, before), (_, after) in zip(chain, chain[1:]):
        assert not (after and after == before), chain
    held = dict(chain)
    for version, by in covered:
        assert version.state and held[by] == version.state   # covered by a filed version of its state
        # ... and by the version just before it: nothing filed between them
        order = [v.revision_id for v in versions]
        between = order[order.index(by) + 1 if by in order else 0:order.index(version.revision_id)]
        assert not {v.revision_id for v in pending} & set(between)


def test_an_unknown_state_is_always_filed_and_breaks_the_chain():
    versions = [_spec(0, "A"), _spec(1, ""), _spec(2, "A")]
    pending, covered = distinct(versions, {}, ("r-last", "A"))
    assert [v.revision_id for v in pending] == ["r1", "r2"] and [(v.revision_id, by) for v, by in covered] == [("r0", "r-last")]
