"""The web console (``/console/``): its files and headers, then real browsers driving it.

The static tests need no browser. The browser tier drives Debian's
``chromium`` headless through ``chromedriver`` (Selenium) against ``chalice
local`` over DynamoDB Local (the ``live`` fixture): a customer and an agent, in
two browser sessions, hold a whole conversation, and a supervisor changes a
capacity and sees it take effect. The shared test server has no WebSocket
gateway, so those pages run on their polling fallback; one more test starts a
server of its own beside the local gateway and stream poller (as ``make run``
wires them) and holds the conversation over push. A second server of the module
runs with ``ROUTING_OVERFLOW=queue`` (``queue_live``): a customer waits in the
queue, sees the place and the estimate, and leaves; a supervisor sees the queue
and transfers a chat; an agent transfers a chat to another agent. Screenshots
go to a temporary folder, or to ``$SCREENSHOTS_DIR`` (``docs/img`` refreshes the README's).

Without chromium and chromedriver the browser tier fails, saying what to
install (``apt-get install chromium chromium-driver``), unless ``SKIP_BROWSER=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chalice.test import Client

import app as app_module
from app import app
from chalicelib import store as store_module
from chalicelib.routes import console
from chalicelib.routes.common import SECURITY_HEADERS
from tests.support.live import LiveApi, User
from tests.support.server import chalice_local
from tests.support.streams import app_poller
from tools.stages import STAGE, stage_environment
from tools.ws_gateway import RealtimeGateway

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a temporary folder; SCREENSHOTS_DIR=docs/img refreshes the README's.
SHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "console-screenshots")
PHONE = (375, 812)
WAIT_SECONDS = 20

# -- the files and their headers (no browser) ----------------------------------


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(app, stage_name=STAGE) as test_client:
        yield test_client


def test_the_page_and_its_files_are_served_with_their_own_policy(client):
    page = client.http.get("/console/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "connect-src 'self' ws://127.0.0.1:8081;" in policy  # the local stage's WebSocket API
    for name, kind in (("main.js", "text/javascript"), ("console.css", "text/css"), ("icon.svg", "image/svg+xml")):
        reply = client.http.get(f"/console/{name}")
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith(kind), name
        assert reply.headers["Content-Security-Policy"] == policy


def test_the_api_keeps_its_deny_all_policy(client):
    for path in ("/health", "/openapi.json", "/console/no-such-file.js", "/console/..%2Fapp.py"):
        reply = client.http.get(path)
        assert reply.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"], path
    assert client.http.get("/console/no-such-file.js").status_code == 404


def test_without_the_slash_the_page_moves_so_relative_links_resolve(client):
    reply = client.http.get("/console")
    # chalice.test.Client gives no request path, as on API Gateway the stage prefix may differ:
    # the answer is a relative redirect, or the page itself when the path already ends in "/".
    assert reply.status_code in (200, 301)
    if reply.status_code == 301:
        assert reply.headers["Location"] == "console/"


def test_the_policy_names_the_websocket_origin_only():
    assert "connect-src 'self';" in console.page_policy(None)
    policy = console.page_policy("wss://abc.execute-api.eu-west-1.amazonaws.com/prod")
    assert "connect-src 'self' wss://abc.execute-api.eu-west-1.amazonaws.com;" in policy


def test_no_inline_script_or_style_and_no_token_in_a_url():
    page = (console.FILES / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "every script comes from a file"
    assert "<style" not in page and " style=" not in page, "styles come from console.css"
    assert not re.search(r"\son[a-z]+=", page), "no inline event handlers"
    scripts = "\n".join(path.read_text() for path in console.FILES.glob("*.js"))
    assert "localStorage" not in scripts, "tokens live in memory or sessionStorage only"
    assert not re.search(r"[?&]token=|searchParams\.set\(\"token\"", scripts), "no token in a URL"
    assert "innerHTML" not in scripts, "text is set as text, never parsed as HTML"


def test_the_console_ships_in_the_lambda_package():
    # chalice packages chalicelib/ whole: the files sit beside the code that serves them.
    assert console.FILES.is_relative_to(ROOT / "chalicelib")
    assert {"index.html", "main.js", "api.js", "live.js", "console.css"} <= set(console.assets())


# -- the browser tier ------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def _browser_binaries() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, found in (("chromium", browser), ("chromium-driver", driver)) if not found]
    if missing:
        reason = (
            f"the browser tier needs {' and '.join(missing)}: install them with "
            "`sudo apt-get update && sudo apt-get install -y chromium chromium-driver` (Debian/Ubuntu)"
        )
        if os.environ.get("SKIP_BROWSER") == "1":
            pytest.skip(f"browser tier skipped on request (SKIP_BROWSER=1): {reason}")
        pytest.fail(f"{reason}, or set SKIP_BROWSER=1 to skip it")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("the browser tier needs selenium: `make install` (requirements-dev.txt)")
    return browser, driver


@pytest.fixture
def browsers() -> Iterator[Callable[[], object]]:
    """A factory of headless Chromium sessions (each its own profile), all closed at the end."""
    browser, driver = _browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opened = []
    profiles = []

    def open_browser(size: tuple[int, int] = PHONE):
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile = tempfile.mkdtemp(prefix="console-chromium-")
        profiles.append(profile)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={size[0]},{size[1]}")
        session = webdriver.Chrome(options=options, service=Service(driver))
        opened.append(session)
        # A headless window is at least 500 px wide: the phone's viewport is emulated instead.
        metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True}
        session.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        return session

    yield open_browser
    for session in opened:
        session.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(browser, condition: Callable[[object], object], what: str, timeout: float = WAIT_SECONDS):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException:
        error = browser.find_element("id", "error").text
        logged = [entry["message"] for entry in browser.get_log("browser")][-5:]
        pytest.fail(f"timed out waiting for {what} (page error: {error!r}; browser log: {logged})")


def text_of(browser, element_id: str) -> str:
    return browser.find_element("id", element_id).text


def shows(element_id: str, text: str) -> Callable[[object], bool]:
    return lambda browser: text in browser.find_element("id", element_id).text


def log_in(browser, base: str, role: str, username: str, password: str) -> None:
    browser.get(f"{base}/console/")
    wait_for(browser, lambda b: b.find_element("id", "login-form").is_displayed(), "the login form")
    browser.find_element("css selector", f'input[name="role"][value="{role}"]').click()
    browser.find_element("id", "username").send_keys(username)
    password_box = browser.find_element("id", "password")
    password_box.send_keys(password)
    password_box.submit()
    wait_for(browser, lambda b: b.find_element("id", f"{role}-view").is_displayed(), f"the {role} view")


def write(browser, box_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = browser.find_element("id", box_id)
    box.send_keys(text)
    box.send_keys(Keys.TAB, Keys.ENTER)  # to the Send button and press it: the keyboard alone


def fits_the_phone(browser) -> bool:
    """No sideways scrolling at 375 px: nothing is wider than the viewport."""
    width, scrolled, viewport = browser.execute_script(
        "const root = document.documentElement; return [window.innerWidth, root.scrollWidth, root.clientWidth];"
    )
    wide = browser.execute_script(
        "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth + 0.5).map(e => e.tagName + '#' + e.id + '.' + e.className);"
    )
    assert width <= PHONE[0] and scrolled <= viewport, f"wider than {viewport} px: {wide}"
    return True


def screenshot(browser, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"console-{name}.png"))


def test_a_customer_and_an_agent_hold_a_whole_conversation(live, browsers):
    agent, customer = browsers(), browsers()
    log_in(agent, live, "agent", "annasianna", "strongpass1")
    wait_for(agent, shows("agent-presence", "You are online"), "the agent online")
    log_in(customer, live, "customer", "daungugur", "strongpass1")
    assert text_of(customer, "whoami") == "daungugur (customer 1)"
    assert customer.execute_script("return location.href").endswith("/console/")  # no token in the URL
    assert customer.find_element("id", "leave-chat").is_displayed() is False  # no chat to leave yet

    customer.find_element("id", "start-chat").click()
    wait_for(customer, shows("customer-status", "Chatting with agent 1"), "the chat assigned")
    write(customer, "customer-text", "Halo, pesanan saya belum sampai")
    wait_for(customer, shows("customer-messages", "pesanan saya"), "the customer's own message")

    # The agent's page learns of the chat and the message without a reload: one unread.
    wait_for(agent, shows("agent-chats", "Customer 1 (1 unread)"), "the chat in the list, one unread")
    agent.find_element("css selector", "#agent-chats button").click()
    wait_for(agent, shows("agent-messages", "pesanan saya"), "the customer's message at the agent")
    assert "unread" not in text_of(agent, "agent-chats")
    write(agent, "agent-text", "Baik, kami cek dulu ya")
    wait_for(customer, shows("customer-messages", "kami cek dulu"), "the agent's reply at the customer")
    write(customer, "customer-text", "Terima kasih")
    wait_for(agent, shows("agent-messages", "Terima kasih"), "the customer's second message at the agent")
    assert "You are online · 1 of 2 chats" in text_of(agent, "agent-presence")
    assert fits_the_phone(agent) and fits_the_phone(customer)
    screenshot(customer, "customer")
    screenshot(agent, "agent")

    agent.find_element("id", "resolve-chat").click()
    wait_for(agent, shows("agent-no-chats", "No active chats"), "the chat gone from the agent's list")
    wait_for(customer, shows("customer-status", "resolved"), "the customer told the chat is resolved")
    assert customer.find_element("id", "start-chat").is_displayed()

    # A reload keeps the session (sessionStorage); logging out ends it.
    agent.refresh()
    wait_for(agent, shows("agent-presence", "You are online"), "the agent back after a reload")
    agent.find_element("id", "logout").click()
    wait_for(agent, lambda b: b.find_element("id", "login-form").is_displayed(), "the login form after logout")
    assert agent.execute_script("return sessionStorage.getItem('console.session')") is None


def test_a_supervisor_changes_a_capacity_and_sees_it_take_effect(live, browsers):
    api = LiveApi(live)
    api.login(User("agent", 1, "annasianna", "strongpass1"))
    first = api.login(User("customer", 1, "daungugur", "strongpass1"))
    assert api.initiate(1, first).body["agent_id"] == 1  # agent 1: 1 chat (the only one online)
    api.login(User("agent", 2, "rosesimawar", "strongpass2"))  # agent 2: none

    supervisor = browsers()
    log_in(supervisor, live, "supervisor", "supervisor", "strongpass0")
    wait_for(supervisor, shows("agent-1", "Load: 1 of 2 chats"), "agent 1's load and capacity")
    wait_for(supervisor, shows("agent-2", "Status: online"), "agent 2 online")

    # Agent 2 to capacity 0: the next chat goes to agent 1 although agent 2 has fewer.
    box = supervisor.find_element("id", "capacity-2")
    box.clear()
    box.send_keys("0")
    box.submit()
    wait_for(supervisor, shows("agent-2", "Load: 0 of 0 chats"), "agent 2's new capacity")
    second = api.login(User("customer", 2, "mawarberduri", "strongpass2"))
    assert api.initiate(2, second).body["agent_id"] == 1
    supervisor.find_element("id", "refresh").click()
    wait_for(supervisor, shows("agent-1", "Load: 2 of 2 chats"), "agent 1 with both chats")
    wait_for(supervisor, shows("sv-chats", "Customer 2 with agent 1"), "the second chat in the list")

    supervisor.find_element("css selector", "#agent-2 button.force").click()
    wait_for(supervisor, shows("agent-2", "Status: offline"), "agent 2 forced offline")
    assert fits_the_phone(supervisor)
    screenshot(supervisor, "supervisor")


# -- over push: a server whose tickets point at a local WebSocket gateway ---------------


@pytest.fixture
def push_server(real: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``chalice local`` with WS_URL at a gateway on a free port, and the stream poller: ``make run``'s wiring."""
    gateway = RealtimeGateway(app_module, port=0).start()
    monkeypatch.setenv("WS_URL", f"ws://127.0.0.1:{gateway.port}")
    monkeypatch.setenv("WS_MANAGEMENT_URL", gateway.management_url)
    store_module.reset()
    poller = app_poller()
    endpoint = os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
    env = {**os.environ, **stage_environment(), "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
    env["WS_URL"] = os.environ["WS_URL"]
    with chalice_local(env) as base:
        yield base
    poller.stop()
    gateway.stop()


def on_push(browser) -> bool:
    return browser.find_element("id", "mode").get_attribute("data-mode") == "push"


def test_the_conversation_arrives_over_the_websocket(push_server, browsers):
    agent, customer, supervisor = browsers(), browsers(), browsers()
    log_in(agent, push_server, "agent", "annasianna", "strongpass1")
    log_in(customer, push_server, "customer", "daungugur", "strongpass1")
    log_in(supervisor, push_server, "supervisor", "supervisor", "strongpass0")
    wait_for(agent, on_push, "the agent's socket open")
    wait_for(customer, on_push, "the customer's socket open")
    wait_for(supervisor, on_push, "the supervisor's socket open")
    assert text_of(agent, "mode") == "Live"

    customer.find_element("id", "start-chat").click()
    wait_for(agent, shows("agent-chats", "Customer 1"), "the chat pushed to the agent")
    # On push the supervisor's page refreshes only on an event (or every 30 s): within 3 s, the socket told it.
    wait_for(supervisor, shows("sv-chats", "Customer 1 with agent 1"), "the new chat on the supervisor's", timeout=3)
    agent.find_element("css selector", "#agent-chats button").click()
    write(customer, "customer-text", "Lewat soket")
    wait_for(agent, shows("agent-messages", "Lewat soket"), "the customer's message pushed to the agent")
    write(agent, "agent-text", "Diterima")
    wait_for(customer, shows("customer-messages", "Diterima"), "the agent's reply pushed to the customer")
    agent.find_element("id", "resolve-chat").click()
    # The customer long-polls for 5 s while polling: within 3 s, only the socket can have told it.
    wait_for(customer, shows("customer-status", "resolved"), "the resolve pushed to the customer", timeout=3)
    wait_for(supervisor, shows("sv-no-chats", "No active chats"), "the resolve on the supervisor's", timeout=3)
    assert on_push(agent) and on_push(customer) and on_push(supervisor)


# -- with a queue: a server of its own with ROUTING_OVERFLOW=queue ------------------------


@pytest.fixture(scope="module")
def queue_server(dynamodb_local) -> Iterator[str]:
    """``chalice local`` as the shared ``http_server`` (same DynamoDB Local), with ``ROUTING_OVERFLOW=queue``.

    The shared server is session-wide and keeps the seed's overflow rules; this one serves this module only."""
    env = {
        **os.environ,
        **stage_environment(),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ROUTING_OVERFLOW": "queue",
    }
    with chalice_local(env) as base:
        yield base


@pytest.fixture
def queue_live(real: None, queue_server: str) -> str:
    """``real`` (fresh tables, demo users), served with a queue; the base URL."""
    return queue_server


def choose(browser, select_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", select_id)).select_by_value(value)


def test_a_queued_customer_sees_the_place_and_leaves_and_the_supervisor_sees_the_queue(queue_live, browsers):
    api = LiveApi(queue_live)
    api.login(User("agent", 1, "annasianna", "strongpass1"))  # the only agent online: capacity 2
    held = {}
    for customer_id, username, password in ((2, "mawarberduri", "strongpass2"), (3, "langitbiru", "strongpass3")):
        answer = api.initiate(customer_id, api.login(User("customer", customer_id, username, password))).body
        assert answer["agent_id"] == 1
        held[customer_id] = answer["channel_id"]

    customer, supervisor = browsers(), browsers()
    log_in(customer, queue_live, "customer", "daungugur", "strongpass1")
    customer.find_element("id", "start-chat").click()
    wait_for(customer, shows("customer-queue", "Waiting — position 1"), "the place in the queue")
    # One online agent with 2 slots, no chat handled yet: 1 x 300 s / 2 slots = 150 s, "about 3 min".
    assert text_of(customer, "customer-queue") == "Waiting — position 1, about 3 min"
    assert customer.find_element("id", "customer-queue").get_attribute("aria-live") == "polite"
    assert text_of(customer, "customer-status") == "Waiting for an agent."
    wait_for(customer, shows("customer-messages", "waiting in the queue"), "the queued system entry")
    entry = customer.find_element("css selector", "#customer-messages li.system")
    assert entry.get_attribute("data-kind") == "queued" and not entry.find_elements("css selector", ".who")
    write(customer, "customer-text", "Saya tunggu")  # customers may write while they wait
    wait_for(customer, shows("customer-messages", "Saya tunggu"), "a message sent while queued")

    log_in(supervisor, queue_live, "supervisor", "supervisor", "strongpass0")
    wait_for(supervisor, shows("sv-queue-count", "1 chat waiting."), "the queue's length")
    assert text_of(supervisor, "sv-queue").startswith("Customer 1, queued")
    assert fits_the_phone(customer) and fits_the_phone(supervisor)

    customer.find_element("id", "leave-chat").click()
    wait_for(customer, shows("customer-status", "You left the chat"), "the customer out of the queue")
    assert not customer.find_element("id", "customer-queue").is_displayed()
    assert customer.find_element("id", "start-chat").is_displayed()
    wait_for(customer, shows("customer-past-chats", "No agent · you left"), "the chat among the past ones")
    supervisor.find_element("id", "refresh").click()
    wait_for(supervisor, shows("sv-queue-count", "Nobody is waiting."), "the queue empty")
    assert customer.find_element("id", "customer-queue").is_displayed() is False  # and it stays gone

    # The supervisor moves customer 2's chat: agent 2 is offline (refused, said by the chat), then the queue.
    choose(supervisor, f"transfer-{held[2]}", "2")
    supervisor.find_element("css selector", f'#sv-chats li[data-channel="{held[2]}"] button').click()
    refusal = f"transfer-{held[2]}-error"
    wait_for(supervisor, shows(refusal, "agent 2 cannot take it now"), "the refusal next to the chat")
    assert supervisor.find_element("id", refusal).get_attribute("role") == "alert"
    choose(supervisor, f"transfer-{held[2]}", "queue")
    supervisor.find_element("css selector", f'#sv-chats li[data-channel="{held[2]}"] button').click()
    wait_for(supervisor, shows("sv-queue-count", "1 chat waiting."), "the chat back in the queue")
    assert "Customer 2" in text_of(supervisor, "sv-queue") and "put back by agent 1" in text_of(supervisor, "sv-queue")
    wait_for(supervisor, lambda b: "Customer 2" not in text_of(b, "sv-chats"), "the chat gone from the active list")


def test_an_agent_transfers_a_chat_to_another_agent(queue_live, browsers):
    from selenium.webdriver.common.keys import Keys

    api = LiveApi(queue_live)
    first, second = browsers(), browsers()
    log_in(first, queue_live, "agent", "annasianna", "strongpass1")
    wait_for(first, shows("agent-presence", "You are online"), "agent 1 online")
    token = api.login(User("customer", 1, "daungugur", "strongpass1"))
    assert api.initiate(1, token).body["agent_id"] == 1  # the only agent online
    assert api.customer_send(1, token, "Mau ganti alamat").status == 201
    log_in(second, queue_live, "agent", "rosesimawar", "strongpass2")

    wait_for(first, shows("agent-chats", "Customer 1"), "the chat at agent 1")
    first.find_element("css selector", "#agent-chats button").click()
    wait_for(first, shows("agent-messages", "Mau ganti alamat"), "the customer's message at agent 1")
    assert "(rule under_cap, reason initiate)" in text_of(first, "agent-chat-why")

    box = first.find_element("id", "transfer-agent")
    box.send_keys("3", Keys.ENTER)  # agent 3 never logged in: 409 agent_unavailable
    wait_for(first, shows("transfer-error", "agent 3 cannot take it now"), "the refusal next to the control")
    assert box.get_attribute("aria-invalid") == "true"
    assert "Customer 1" in text_of(first, "agent-chats")  # still agent 1's
    box.clear()
    box.send_keys("2", Keys.ENTER)
    wait_for(first, shows("agent-notice", "The chat with customer 1 is now with agent 2."), "the transfer said")
    wait_for(first, shows("agent-no-chats", "No active chats"), "the chat gone from agent 1")

    wait_for(second, shows("agent-chats", "Customer 1 (1 unread)"), "the chat at agent 2, its message unread")
    second.find_element("css selector", "#agent-chats button").click()
    wait_for(second, shows("agent-messages", "Transferred from agent 1 to agent 2."), "the transfer in the history")
    entry = second.find_element("css selector", '#agent-messages li.system[data-kind="transferred"]')
    assert not entry.find_elements("css selector", ".who")  # a line, not a speaker's bubble
    assert "it was transferred to you (rule chosen, reason transfer, by agent 1)" in text_of(second, "agent-chat-why")
    assert fits_the_phone(second)
