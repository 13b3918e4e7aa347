"""QtScheduler: the scheduler runs in the Qt event loop, jobs in a thread pool, for about three
seconds.

    python examples/schedulers/qt.py

A GUI application creates a ``QApplication`` (and windows) instead; this example needs no display.
"""

from __future__ import annotations

import sys
from datetime import datetime

try:
    from PySide6.QtCore import QCoreApplication, QTimer
except ModuleNotFoundError as exc:
    if (exc.name or "").partition(".")[0] != "PySide6":
        raise
    sys.exit("This example needs PySide6, which is not installed: pip install quartzite[qt]")

from quartzite.schedulers.qt import QtScheduler


def tick() -> None:
    print(f"Tick! The time is: {datetime.now():%H:%M:%S.%f}")


def main() -> None:
    app = QCoreApplication(sys.argv)
    scheduler = QtScheduler()
    scheduler.add_job(tick, "interval", seconds=1)
    scheduler.start()
    print("Running for three seconds")

    def stop() -> None:
        scheduler.shutdown()
        app.quit()

    QTimer.singleShot(3200, stop)
    app.exec()
    print("Scheduler shut down")


if __name__ == "__main__":
    main()
