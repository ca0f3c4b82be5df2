"""The throwaway WordPress of scripts/wordpress.sh: a real site the publishing tests can trust."""

from __future__ import annotations

import requests


def test_site_answers_with_the_theme_and_application_passwords(wordpress) -> None:
    front = requests.get(wordpress.url + "/", timeout=30)
    assert front.status_code == 200
    assert "twentytwentythree" in front.text
    index = requests.get(wordpress.url + "/wp-json/", timeout=30).json()
    assert "application-passwords" in index["authentication"]  # WP_ENVIRONMENT_TYPE = local
    for role, password in wordpress.passwords.items():
        me = requests.get(
            wordpress.url + "/wp-json/wp/v2/users/me",
            params={"context": "edit"},
            auth=(role, password),
            timeout=30,
        )
        assert me.status_code == 200, role
        expected = "administrator" if role == "admin" else role
        assert me.json()["roles"] == [expected]


def test_reset_removes_what_a_test_created(wordpress) -> None:
    auth = ("editor", wordpress.passwords["editor"])
    created = requests.post(
        wordpress.url + "/wp-json/wp/v2/blocks",
        json={"title": "left over", "slug": "left-over", "status": "publish", "content": "x"},
        auth=auth,
        timeout=30,
    )
    assert created.status_code == 201
    wordpress.reset()
    blocks = requests.get(
        wordpress.url + "/wp-json/wp/v2/blocks", params={"context": "edit"}, auth=auth, timeout=30
    )
    assert blocks.json() == []
