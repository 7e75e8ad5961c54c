"""design principle "secrets never print": no problem, exception or finding text carries the password."""

from __future__ import annotations

import string
from collections.abc import Callable

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aks_windows_ops.errors import InvalidInput
from aks_windows_ops.models import ClusterSnapshot
from aks_windows_ops.rules import validation as v
from aks_windows_ops.rules.preflight import preflight
from aks_windows_ops.secrets import Secret

# Every fixed sentence the password check can produce; a password that is a substring of one of them would make
# the assertion below fail for a reason that is not a leak.
_FIXED_TEXT = " ".join(
    p
    for sample in ("", "a", "aaaaaaaaaaaaaaaaaaaaa", "Password1", "x" * 200, "azureuserAa1!xxxxx")
    for p in v.check_admin_password(sample, username="azureuser")
)

# Drawn passwords carry a character no message contains, so "the password is in the text" can only mean a
# leak, never a password that happens to spell a word of the message ("admin", "must n").
_CANARY = "\u27e6"
passwords = st.one_of(
    st.text(min_size=4, max_size=40).map(lambda p: _CANARY + p),
    st.text(alphabet=string.printable, min_size=4, max_size=129).map(lambda p: _CANARY + p),
    st.sampled_from(sorted(v.DISALLOWED_PASSWORDS)),
)


def _all_text(exc: InvalidInput) -> str:
    return " | ".join(
        [str(exc), repr(exc), exc.message, exc.remediation or "", *exc.problems, str(exc.to_dict())]
    )


@settings(max_examples=150, deadline=None)
@given(passwords, st.one_of(st.none(), st.text(max_size=20)))
def test_password_never_in_problems_or_exception(password: str, username: str | None) -> None:
    assume(password not in _FIXED_TEXT and password.lower() not in _FIXED_TEXT.lower())
    assume(username is None or password not in username)
    problems = v.check_admin_password(Secret(password), username=username)
    assert all(password not in p for p in problems)
    assert problems == v.check_admin_password(password, username=username)
    try:
        v.validate_admin_password(password, username=username)
    except InvalidInput as exc:
        assert password not in _all_text(exc)
        assert exc.problems == tuple(problems)
    else:
        assert problems == []


def test_password_containing_username_is_not_quoted() -> None:
    username = "operator"
    password = "xOperator!Zebra42xyz"
    problems = v.check_admin_password(password, username=username)
    assert problems == ["admin password must not contain the admin username"]
    assert all(password not in p and "Operator!" not in p for p in problems)


def test_findings_never_quote_a_password_found_in_manifests(cluster: Callable[..., ClusterSnapshot]) -> None:
    # A literal password in a Windows workload's env must not reach any finding, whatever the rules report.
    password = "Sup3r$ecret-Passw0rd"
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 500,
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "nodeSelector": {"kubernetes.io/os": "windows"},
                    "securityContext": {"runAsUser": 1000},
                    "containers": [
                        {
                            "name": "web",
                            "image": "mcr.microsoft.com/windows/servercore:ltsc2019",
                            "env": [{"name": "ADMIN_PASSWORD", "value": password}],
                            "volumeMounts": [{"name": "d", "mountPath": "/mnt/data"}],
                        }
                    ],
                    "volumes": [{"name": "d", "hostPath": {"path": "C:\\data"}}],
                },
            },
        },
    }
    report = preflight(cluster(uses_service_principal=True), [deployment])
    assert report.exit_code == 2
    assert len(report.findings) >= 6
    blob = report.to_text() + str(report.to_dict())
    assert password not in blob
