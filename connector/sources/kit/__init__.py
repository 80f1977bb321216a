"""What every source needs and none should write again: ``window`` (the server clock, the
checkpoint "run start minus overlap" in one format, since/until filtering, dedupe), ``deletions``
(tombstones and the guard against a reconcile that would tombstone too much), ``forum`` (the shape
Misago and Discourse share: thread/post/attachment records, one change-sweep unit per thread)."""
