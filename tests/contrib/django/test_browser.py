"""The admin in a real browser: log in, see a job, run it now, see its execution.

Chromium runs headless, driven by selenium through Debian's ``chromedriver``; Django serves the
admin from pytest-django's ``live_server`` (a thread of this process). The server's request
threads and the :class:`BackgroundScheduler` of the test open their own connections to the test
database's SQLite *file* (alias ``default``; the test is transactional, so each sees what the
others commit), so the run request the admin writes is the one the scheduler claims, exactly as
between a web process and ``runscheduler``.

Without chromium, chromedriver or selenium the test is skipped, or fails under
``QUARTZITE_REQUIRE_SERVICES=1`` (``.ci/run`` installs the two Debian packages).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from quartzite.contrib.django.jobstores import DjangoJobStore
from quartzite.contrib.django.models import DjangoJobExecution
from quartzite.schedulers.background import BackgroundScheduler
from support.jobs import dummy_job

pytestmark = pytest.mark.live

CHROMEDRIVER = "/usr/bin/chromedriver"
#: Seconds to wait for any page element (the run-now request itself waits up to
#: ``APSCHEDULER_RUN_NOW_TIMEOUT``, 10 s in the test settings).
WAIT = 20
LATER = datetime(2040, 1, 1, tzinfo=timezone.utc)
JOB_ID = "browser-job"
PASSWORD = "browser-pw-1"


def _chromium() -> str:
    """The chromium binary (Debian installs ``/usr/bin/chromium``)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no chromium (or chromium-browser) on PATH")


def _browser_parts() -> tuple[str, str]:
    """Check that selenium, chromium and chromedriver are all there."""
    import selenium  # noqa: F401 - only checks that it is installed

    binary = _chromium()
    if not os.access(CHROMEDRIVER, os.X_OK):
        raise FileNotFoundError(f"{CHROMEDRIVER} is missing (Debian package chromium-driver)")
    return binary, CHROMEDRIVER


@pytest.fixture
def browser(require_service: Callable[..., Any]) -> Iterator[Any]:
    """A headless chromium driven by selenium."""
    binary, driver_path = require_service("Chromium with chromedriver", _browser_parts)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1024",
    ):
        options.add_argument(argument)
    # An explicit driver path and binary: selenium's driver manager has nothing to download.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    """A started scheduler on the Django store: the one "run now" hands the run to."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_jobstore(DjangoJobStore(poll_interval=1), "default")
    scheduler.start()
    yield scheduler
    scheduler.shutdown()


@pytest.fixture
def browser_admin() -> Iterator[str]:
    """The user name of a superuser whose password is :data:`PASSWORD`."""
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("browser-admin", "admin@example.com", PASSWORD)
    yield user.username
    user.delete()


@pytest.mark.django_db(transaction=True)
def test_log_in_see_the_job_run_it_now_and_see_its_execution(
    browser: Any, live_server: Any, scheduler: BackgroundScheduler, browser_admin: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # Far in the future: the only run this test sees is the one asked for in the admin.
    scheduler.add_job(dummy_job, "date", run_date=LATER, args=("hello",), id=JOB_ID)
    wait = WebDriverWait(browser, WAIT)

    # Log in.
    base = live_server.url
    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(browser_admin)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "user-tools")))

    # The job list shows the job, readably.
    browser.get(f"{base}/admin/quartzite/djangojob/")
    table = wait.until(ec.presence_of_element_located((By.ID, "result_list")))
    assert JOB_ID in table.text
    assert "support.jobs:dummy_job('hello')" in table.text

    # Select it, choose "run now", submit.
    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{JOB_ID}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("run_selected_jobs")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    message = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li")))
    assert message.text == f"Executed job '{JOB_ID}'!"
    assert "info" in (message.get_attribute("class") or "")

    # The run happened in the scheduler, and the history page shows it with its status.
    row = DjangoJobExecution.objects.get(job_id=JOB_ID)
    assert row.status == DjangoJobExecution.SUCCESS and row.manual
    browser.get(f"{base}/admin/quartzite/djangojobexecution/")
    table = wait.until(ec.presence_of_element_located((By.ID, "result_list")))
    [line] = [tr for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr") if JOB_ID in tr.text]
    status = line.find_element(By.CSS_SELECTOR, "td.field-html_status p")
    assert status.text == DjangoJobExecution.SUCCESS
    assert "green" in (status.get_attribute("style") or "")
