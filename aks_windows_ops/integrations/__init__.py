"""Front ends over the runbooks: Jupyter display helpers and Azure Functions (design notes, "Layers").

- :mod:`aks_windows_ops.integrations.notebook`: ``show()`` and a progress ``on_event`` callback for Jupyter.
- :mod:`aks_windows_ops.integrations.functions`: the nightly timer (fleet audit to Blob, then advancing
  pending plans within a time budget) as an ``azure.functions.Blueprint`` (Service facts: Where it runs).
- :mod:`aks_windows_ops.integrations.durable`: a Durable Functions orchestration that rolls a procedure out
  across many clusters (Service facts: Where it runs).

Nothing is imported here: each module imports IPython or ``azure.functions`` only when it is used, so that
``import aks_windows_ops`` stays light (Service facts: Anchor figures).
"""
