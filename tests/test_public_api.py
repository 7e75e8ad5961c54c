from __future__ import annotations

import subprocess
import sys

import aks_windows_ops


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert aks_windows_ops.__all__ == sorted(aks_windows_ops.__all__)
    for name in aks_windows_ops.__all__:
        assert getattr(aks_windows_ops, name) is not None, name


def test_import_is_light() -> None:
    code = "import sys, aks_windows_ops; print(sorted(m for m in sys.modules if m.startswith(('azure', 'kubernetes'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_function_has_a_docstring() -> None:
    import importlib
    import inspect
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(aks_windows_ops.__path__, "aks_windows_ops."):
        if ".testing." in info.name and info.name.split(".")[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and not (obj.__doc__ or "").strip():
                missing.append(f"{info.name}.{name}")
    assert missing == []
