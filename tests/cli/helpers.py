"""Helpers for the records-management command tests: a blog seeded with posts dated in a range of
its own (WordPress lets a post's date be set), configs for the shared servers, raw CMIS deletes."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import requests

from ..conftest import write_config
from ..sources.test_wordpress import STATE as WP_STATE, URL as WP_URL

UTC = timezone.utc
BLOG = """
[sources.blog]
type = "wordpress"
base_url = "{url}"
username = "admin"
app_password_file = "{state}/app_password"
"""


def blog_config(tmp_path, cmis_url: str, *, rate_per_minute: int = 0) -> str:
    """``rate_per_minute``: throttle the blog, for a test that must stop a run while it still reads."""
    return write_config(tmp_path, cmis_url, sources=BLOG.format(url=WP_URL, state=WP_STATE)
                        + f"rate_per_minute = {rate_per_minute}\n")


def seed_dated_posts(wp, inside: int) -> dict:
    """``inside`` posts dated one hour apart in a random old range (no other test dates posts
    there), one post dated a day before it and one an hour after it. Returns the range and ids."""
    rng = random.Random(uuid.uuid4().int)
    base = datetime(rng.randint(1992, 2008), rng.randint(1, 12), rng.randint(1, 25), 3, 0, tzinfo=UTC)
    base += timedelta(minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
    tag = uuid.uuid4().hex[:8]

    def post(when: datetime, label: str) -> int:
        return wp.post(title=f"Backfill {label} {tag}", date_gmt=when.strftime("%Y-%m-%dT%H:%M:%S"),
                       content=f"<p>{label} {tag}</p>")["id"]

    ids = [post(base + timedelta(hours=i), f"inside {i}") for i in range(inside)]
    since, until = base - timedelta(minutes=30), base + timedelta(hours=inside - 1, minutes=30)
    before = post(since - timedelta(days=1), "before")
    after = post(until + timedelta(hours=1), "after")
    return {"since": since, "until": until, "inside": ids, "outside": [before, after], "tag": tag}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def cmis_delete(cmis_url: str, object_id: str) -> None:
    """Delete a document with all its versions directly in the repository (Browser binding)."""
    response = requests.post(f"{cmis_url}/A1/root", auth=("admin", "admin"), timeout=30,
                             data={"cmisaction": "delete", "objectId": object_id, "allVersions": "true"})
    assert response.status_code < 300, response.text[:300]
