"""Cold start of create_app() in a fresh process, and the server's memory."""
import subprocess
import sys
import tempfile

TARGET_MS = 1000.0
SCRIPT = """
import time, tempfile
started = time.perf_counter()
from apunto_fact import create_app
app = create_app({"INSTANCE_PATH": tempfile.mkdtemp(), "SECRET_KEY": "x"})
print((time.perf_counter() - started) * 1000)
"""


def run():
    """Return result rows: median of 5 cold starts."""
    samples = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                             check=True, cwd=tempfile.gettempdir())
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    samples.sort()
    median = samples[len(samples) // 2]
    return [{"what": "Arranque en frío: importar y `create_app()` en un proceso nuevo (mediana de 5)",
             "value": f"{median:.0f} ms", "target": f"≤ {TARGET_MS:g} ms",
             "ok": median <= TARGET_MS}]
