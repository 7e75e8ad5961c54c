"""The simulated Kubernetes API server, one job per module.

- :mod:`.fake`: :class:`FakeKubernetes`, the facade tests and the ARM simulator use (pools, nodes, manifests);
- :mod:`.nodes`: AKS node objects of a pool (names, labels, taints, Windows builds);
- :mod:`.state`: the cluster, composed of :mod:`.store` (objects, admission, events, budgets, history),
  :mod:`.controllers` (workloads), :mod:`.scheduler`, :mod:`.kubelet` and :mod:`.disruption` (eviction);
- :mod:`.apiserver` (the HTTPS API: tokens, bodies, errors), :mod:`.routes` (paths and methods), :mod:`.streams` (watch, logs), :mod:`.openapi`
  (OpenAPI v3 documents and field validation), :mod:`.discovery`, :mod:`.table`, :mod:`.patch`;
- :mod:`.podexec` (``pods/exec`` over WebSocket), :mod:`.images` (Windows image builds), :mod:`.tls`
  (the private CA), :mod:`.objects` (kinds and defaults), :mod:`.match` (selectors and merge patches).

Import from the modules (or use ``aks_windows_ops.testing.FakeKubernetes``); this package itself loads nothing.
"""
