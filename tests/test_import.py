"""Importing lecturekit must change no global state: no seeding, no matplotlib settings,
no threads, no network. Checked in a fresh interpreter, so earlier tests cannot hide it."""
import subprocess
import sys
import textwrap


def test_import_changes_no_global_state():
    script = textwrap.dedent("""
        import random, socket, threading
        import numpy as np, torch, matplotlib

        def refuse(*args, **kwargs):
            raise AssertionError("lecturekit touched the network")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        def settings():  # every rcParam; reading "backend" would itself import pyplot
            return {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}

        before = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state(),
                  settings(), threading.active_count(),
                  torch.get_num_threads(), torch.get_default_dtype())
        import importlib, pkgutil
        import lecturekit
        modules = [m.name for m in pkgutil.iter_modules(lecturekit.__path__)]
        for name in modules:
            importlib.import_module(f"lecturekit.{name}")
        assert len(modules) >= 15, modules
        after = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state(),
                 settings(), threading.active_count(),
                 torch.get_num_threads(), torch.get_default_dtype())
        names = ["random", "numpy", "torch rng", "rcParams", "threads", "torch threads", "dtype"]
        changed = [n for n, b, a in zip(names, before, after)
                   if not (torch.equal(b, a) if isinstance(b, torch.Tensor) else b == a)]
        assert not changed, f"importing lecturekit changed: {changed}"
        assert "matplotlib.pyplot" not in __import__("sys").modules, "lecturekit imported pyplot"
        print("unchanged")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unchanged"
