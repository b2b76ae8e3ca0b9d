"""
Tests for the web view (L{ganeti.ui}) and C{GET /2/whoami}: the static
files and their headers in memory, then the page in a real headless
Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium) against a real RAPI over HTTPS in front of a master with
fake-hypervisor instances whose jobs run on the real reactor.

Selenium's calls block, so each browser scenario runs in a thread
(C{deferToThread}) while the reactor serves the page and runs the jobs.
Screenshots land in ``_trial_temp/ui-screenshots/``.
"""

import hashlib
import json
import os
import struct

from treq.client import HTTPClient
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.threads import blockingCallFromThread, deferToThread
from twisted.trial import unittest

from ganeti import crypto
from ganeti.console.relay import StreamEnd
from ganeti.rapi import consoles
from ganeti.rapi import server
from ganeti.rapi.client import PinnedCertificatePolicy
from ganeti.ui.files import CONTENT_SECURITY_POLICY, STATIC_DIR
from tests.util import NODE2_NAME, SETTINGS, local_cluster, two_node_cluster

from twisted.web.client import Agent, HTTPConnectionPool

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

NODE = SETTINGS["node_name"]
USERS = "admin adminpw write\nreader readpw read\nnobody nopw\n"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Seconds a browser waits for the page to show a state.
WAIT = 20


def create_op(name, start):
    """:return: an OP_INSTANCE_CREATE for a diskless fake instance."""
    return {"OP_ID": "OP_INSTANCE_CREATE", "instance_name": name,
            "disk_template": "diskless", "disks": [], "nics": [{}],
            "pnode": NODE, "hypervisor": "fake", "os_type": "",
            "no_install": True, "start": start, "name_check": False,
            "ip_check": False}


def write_users(master):
    """:return: the path of a users file with a write and a read user."""
    path = master.paths.rapi_users
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(USERS)
    return path


def serve(testcase, master, clock, tokens_file=None):
    """
    Serve the master's RAPI site over HTTPS on an ephemeral loopback port.

    :param clock: the reactor the site's channels use.
    :param tokens_file: the API tokens file, or None for none.
    :return: ``(base URL, the certificate's PEM)``.
    """
    site = server.make_site(master.handler, write_users(master), clock,
                            tokens_file=tokens_file)
    pem = crypto.generate_self_signed_pem("cluster1.example.com")
    port = reactor.listenSSL(0, site, server.tls_options_from_pem(pem),
                             interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    return "https://127.0.0.1:%d" % port.getHost().port, pem


def basic(user, password):
    """:return: the headers of HTTP Basic authentication as C{user}."""
    import base64
    return {"Authorization": "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()}


class StaticFilesTests(unittest.TestCase):
    """The page's files on the RAPI port, and the whoami resource."""

    def setUp(self):
        self.master = local_cluster(self)
        tokens = self.mktemp()
        with open(tokens, "w") as f:
            f.write("robot {SHA256}%s write tag=web\n"
                    % hashlib.sha256(b"s3cret").hexdigest())
        self.base, pem = serve(self, self.master, reactor, tokens)
        # No persistent connections, so none outlives a test.
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.http = HTTPClient(Agent(reactor, pool=pool,
                                     contextFactory=PinnedCertificatePolicy(pem)))

    @defer.inlineCallbacks
    def get(self, path, **kwargs):
        """:return: (Deferred) the response to a GET and its body."""
        response = yield self.http.get(self.base + path,
                                       allow_redirects=False, **kwargs)
        body = yield response.content()
        return response, body

    @defer.inlineCallbacks
    def test_redirect(self):
        """/ui redirects to /ui/, which is the page, never cached."""
        response, _ = yield self.get("/ui")
        self.assertIn(response.code, (301, 302))
        self.assertEqual(response.headers.getRawHeaders("location"),
                         ["/ui/"])
        response, body = yield self.get("/ui/")
        self.assertEqual(response.code, 200)
        self.assertIn(b'<script type="module" src="app.js">', body)
        headers = response.headers
        self.assertEqual(headers.getRawHeaders("content-type"),
                         ["text/html; charset=utf-8"])
        self.assertEqual(headers.getRawHeaders("cache-control"), ["no-cache"])
        self.assertEqual(headers.getRawHeaders("content-security-policy"),
                         [CONTENT_SECURITY_POLICY.decode()])

    @defer.inlineCallbacks
    def test_types(self):
        """Scripts and styles get types a browser accepts as such."""
        for path, ctype in [("/ui/app.js", "text/javascript; charset=utf-8"),
                            ("/ui/app.css", "text/css; charset=utf-8")]:
            response, _ = yield self.get(path)
            self.assertEqual(response.code, 200, path)
            self.assertEqual(response.headers.getRawHeaders("content-type"),
                             [ctype])

    @defer.inlineCallbacks
    def test_no_listing_no_escape(self):
        """No directory listings; paths stay inside the static directory."""
        for path in ["/ui/vendor/", "/ui/missing.js", "/ui/../setup.py",
                     "/ui/%2e%2e/files.py"]:
            response, body = yield self.get(path)
            self.assertEqual(response.code, 404, path)
            self.assertNotIn(b"import", body)

    @defer.inlineCallbacks
    def test_rapi_beside(self):
        """The RAPI keeps its paths beside /ui."""
        response, body = yield self.get("/2/info")
        self.assertEqual(response.code, 200)
        self.assertIn(b"cluster1.example.com", body)

    @defer.inlineCallbacks
    def test_whoami(self):
        """
        /2/whoami names the user and its access; it needs credentials,
        and wrong ones are a 401 as everywhere.
        """
        response, body = yield self.get("/2/whoami",
                                        headers=basic("admin", "adminpw"))
        self.assertEqual((response.code, body),
                         (200, b'{"user": "admin", "access": ["read", "write"]}'))
        response, body = yield self.get("/2/whoami",
                                        headers=basic("reader", "readpw"))
        self.assertEqual((response.code, body),
                         (200, b'{"user": "reader", "access": ["read"]}'))
        for headers in [{}, basic("admin", "wrong")]:
            response, _ = yield self.get("/2/whoami", headers=headers)
            self.assertEqual(response.code, 401)
        # A user without read access is refused, as by any read.
        response, _ = yield self.get("/2/whoami",
                                     headers=basic("nobody", "nopw"))
        self.assertEqual(response.code, 403)

    @defer.inlineCallbacks
    def test_whoami_token(self):
        """An API token is named with its scope and its instance tag."""
        response, body = yield self.get(
            "/2/whoami", headers={"Authorization": "Bearer robot.s3cret"})
        self.assertEqual((response.code, json.loads(body)),
                         (200, {"user": "robot", "access": ["read", "write"],
                                "instance_tag": "web"}))


class ShoutingConsole(Protocol):
    """
    A serial console for the browser to talk to: a banner, then what is
    typed comes back in capitals (so the test tells echo from typing).
    """

    def connectionMade(self):
        self.transport.write(b"fake serial console\r\nlogin: ")

    def dataReceived(self, data):
        self.transport.write(data.upper())


class BlueDisplay(Protocol):
    """
    A VNC server for noVNC: RFB 3.8 without authentication, a small
    display that sends one screenful of a single colour at once.
    """

    WIDTH, HEIGHT = 320, 200
    #: Red, green, blue.
    COLOUR = (0x24, 0x56, 0xa6)

    def connectionMade(self):
        self._received = b""
        self._steps = [(12, self._version), (1, self._security),
                       (1, self._client_init)]
        self.transport.write(b"RFB 003.008\n")

    def dataReceived(self, data):
        self._received += data
        while self._steps and len(self._received) >= self._steps[0][0]:
            size, step = self._steps.pop(0)
            self._received = self._received[size:]
            step()

    def _version(self):
        self.transport.write(b"\x01\x01")           # one security type: None

    def _security(self):
        self.transport.write(struct.pack(">I", 0))   # SecurityResult: OK

    def _client_init(self):
        name = b"blue"
        self.transport.write(
            struct.pack(">HH", self.WIDTH, self.HEIGHT)
            # 32 bits a pixel, depth 24, little-endian, true colour, red
            # in the low byte: what noVNC then asks for anyway.
            + struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255,
                          0, 8, 16)
            + struct.pack(">I", len(name)) + name)
        # A FramebufferUpdate of one raw rectangle, the whole display.
        self.transport.write(
            struct.pack(">BxH", 0, 1)
            + struct.pack(">HHHHi", 0, 0, self.WIDTH, self.HEIGHT, 0)
            + bytes(self.COLOUR + (0,)) * (self.WIDTH * self.HEIGHT))


def _browser_missing():
    """:return: why the browser tests cannot run, or None."""
    if webdriver is None:
        return "needs selenium (pip install '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "needs %s (Debian's chromium and chromium-driver;" \
                   " tests/install-deps.sh)" % path
    if not os.path.exists(os.path.join(STATIC_DIR, "index.html")):
        return "the web view's files are not installed"
    return None


class BrowserTestBase(unittest.TestCase):
    """
    A master whose jobs run on the real reactor, with a stopped and a
    running instance, its RAPI over HTTPS, and a headless Chromium with
    helpers to drive it (which block: call them in a thread).
    """

    skip = _browser_missing()
    timeout = 90
    #: Builds the master.
    make_master = staticmethod(local_cluster)

    @defer.inlineCallbacks
    def setUp(self):
        self.master = self.make_master(self, clock=reactor, reactor=reactor)
        for name, start in [("web1.example.com", False),
                            ("db1.example.com", True)]:
            job_id = self.master.queue.submit([create_op(name, start)])
            status = yield self.master.queue.when_finalized(job_id)
            self.assertEqual(status, "success")
        base, _ = serve(self, self.master, reactor)
        self.url = base + "/ui"
        self.shots = os.path.abspath("ui-screenshots")
        os.makedirs(self.shots, exist_ok=True)
        self.driver = yield deferToThread(self._start_browser)
        self.addCleanup(deferToThread, self.driver.quit)

    def _start_browser(self):
        """:return: a headless Chromium under chromedriver (blocks)."""
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox",
                         "--disable-dev-shm-usage", "--disable-gpu",
                         "--ignore-certificate-errors",
                         "--window-size=1280,900"]:
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # The Debian driver, never one Selenium Manager would download.
        service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
        return webdriver.Chrome(options=options, service=service)

    # --- in the browser's thread ---------------------------------------------

    def wait_for(self, condition, what):
        """
        Wait until C{condition(driver)} is true; else fail saying C{what},
        with what the browser logged, and keep a screenshot.
        """
        try:
            return WebDriverWait(self.driver, WAIT, poll_frequency=0.1).until(
                condition)
        except TimeoutException:
            self.screenshot("timeout-" + self._testMethodName)
            self.fail("the page never showed %s; the browser logged: %r"
                      % (what, self.driver.get_log("browser")))

    def log_in(self, user, password):
        """Open the page (as /ui, redirected) and submit the login form."""
        driver = self.driver
        driver.get(self.url)
        self.wait_for(lambda d: d.find_element(By.ID, "login").is_displayed(),
                      "the login form")
        driver.find_element(By.ID, "username").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "login-submit").click()

    def text_of(self, selector):
        """
        :return: the texts of the elements C{selector} matches, read at
            once in the page (it replaces rows as the cluster changes).
        """
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]),"
            " (e) => e.innerText)", selector)

    def instance_status(self, name):
        """:return: the status an instance's row shows, or None."""
        cells = self.text_of('#instances tr[data-name="%s"] td.status' % name)
        return cells[0] if cells else None

    def see_instances(self):
        """Wait for the lists and check they show the cluster."""
        self.wait_for(lambda d: self.instance_status("web1.example.com"),
                      "the instances")
        self.assertEqual(self.text_of("#instances tbody tr td:first-child"),
                         ["db1.example.com", "web1.example.com"])
        self.assertEqual(self.instance_status("db1.example.com"), "running")
        self.assertEqual(self.instance_status("web1.example.com"),
                         "ADMIN_down")
        self.assertEqual(self.text_of("#nodes tbody td:first-child"), [NODE])
        self.assertEqual(self.driver.find_element(By.ID, "cluster-name").text,
                         "cluster1.example.com")

    def screenshot(self, name):
        """Save what the browser shows as C{name}.png."""
        self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))

    def click(self, instance, action):
        """A real click on an instance's button, even as rows are redrawn."""
        selector = ('#instances tr[data-name="%s"] button[data-action="%s"]'
                    % (instance, action))

        def clicked(driver):
            try:
                driver.find_element(By.CSS_SELECTOR, selector).click()
                return True
            except StaleElementReferenceException:
                return False
        self.wait_for(clicked, "the %s button of %s" % (action, instance))

    def my_job_status(self):
        """:return: the statuses of the jobs this page submitted."""
        return self.text_of("#jobs tr.mine td.status")

    def assert_no_script_errors(self):
        """Nothing went wrong in the page's scripts (CSP included)."""
        errors = [entry["message"] for entry in self.driver.get_log("browser")
                  if entry["level"] == "SEVERE"
                  and "Failed to load resource" not in entry["message"]]
        self.assertEqual(errors, [])



class BrowserTests(BrowserTestBase):
    """
    The page in headless Chromium: log in, see the cluster, act as a
    write user and watch the job; a read-only user gets no buttons; a
    wrong password gets an error; consoles.
    """

    @defer.inlineCallbacks
    def test_write_user(self):
        """
        A write user sees the cluster, starts a stopped instance and sees
        its job reach success and the instance run; then stops another
        (asked twice, as for every disruptive action).
        """
        def scenario():
            self.log_in("admin", "adminpw")
            self.see_instances()
            self.assertEqual(self.driver.current_url, self.url + "/")
            self.assertEqual(self.driver.find_element(By.ID, "whoami").text,
                             "admin")
            self.screenshot("write-user")
            self.click("web1.example.com", "startup")
            self.wait_for(lambda d: self.my_job_status() == ["success"],
                          "the start job's success")
            self.wait_for(lambda d: self.instance_status("web1.example.com")
                          == "running", "web1 running")
            self.screenshot("started")
            self.click("db1.example.com", "shutdown")
            self.assertEqual(self.text_of(
                '#instances tr[data-name="db1.example.com"] '
                'button[data-action="shutdown"]'), ["Stop?"])
            self.assertEqual(self.my_job_status(), ["success"])
            self.click("db1.example.com", "shutdown")
            self.wait_for(lambda d: self.my_job_status()
                          == ["success", "success"], "the stop job's success")
            self.wait_for(lambda d: self.instance_status("db1.example.com")
                          == "ADMIN_down", "db1 stopped")
            self.screenshot("stopped")
            self.assert_no_script_errors()
        yield deferToThread(scenario)
        self.assertEqual(self.master.config.config.instances[
            self.uuid_of("web1.example.com")].admin_state, "up")

    def uuid_of(self, name):
        """:return: the config's uuid of the instance called C{name}."""
        [uuid] = [uuid for uuid, inst in
                  self.master.config.config.instances.items()
                  if inst.name == name]
        return uuid

    def stand_in_console(self, protocol):
        """
        Let the fake hypervisor's instances have consoles, served by
        C{protocol} on a local port where the node's relay would be.

        :return: the list of (instance, kind, user) of the consoles
            opened, filled in as they open.
        """
        self.patch(consoles, "RELAYED_HYPERVISORS", ("kvm", "fake"))
        console = reactor.listenTCP(0, Factory.forProtocol(protocol),
                                    interface="127.0.0.1")
        self.addCleanup(console.stopListening)
        opened = []

        def open_console(ticket):
            opened.append((ticket.instance, ticket.kind, ticket.user))
            end = StreamEnd()
            d = TCP4ClientEndpoint(reactor, "127.0.0.1",
                                   console.getHost().port).connect(
                Factory.forProtocol(lambda: end))
            return d.addCallback(lambda _: end.ready)
        self.patch(self.master.consoles, "open", open_console)
        return opened

    @defer.inlineCallbacks
    def test_failed_action(self):
        """
        A job of the page that fails shows why; an action the RAPI
        refuses (a drained queue) says so and submits nothing.
        """
        # A parameter the fake hypervisor refuses at start.
        yield self.master.config.update_object(
            "instances", self.uuid_of("web1.example.com"),
            hvparams={"bogus": "1"})

        def scenario():
            self.log_in("admin", "adminpw")
            self.see_instances()
            self.click("web1.example.com", "startup")
            self.wait_for(lambda d: self.my_job_status() == ["error"],
                          "the start job's failure")
            self.wait_for(lambda d: self.text_of("#jobs tr.mine .job-error"),
                          "why the job failed")
            [reason] = self.text_of("#jobs tr.mine .job-error")
            self.assertIn("bogus", reason)
            self.screenshot("failed-job")
            blockingCallFromThread(reactor, self.master.queue.set_drain_flag,
                                   True)
            self.click("db1.example.com", "reboot")
            self.click("db1.example.com", "reboot")
            self.wait_for(lambda d: "drained" in "".join(
                self.text_of("#message")), "the refusal")
            self.assertEqual(self.my_job_status(), ["error"])
            self.screenshot("refused-action")
        yield deferToThread(scenario)

    @defer.inlineCallbacks
    def test_serial_console(self):
        """
        The console button opens xterm.js on the instance's serial
        console through a console token and the RAPI port's WebSocket:
        the console's output shows, keys typed reach it.  The node's
        side is a local stand-in (the fake hypervisor has no console).
        """
        opened = self.stand_in_console(ShoutingConsole)

        def screen():
            return "\n".join(self.text_of("#console .xterm-rows"))

        def scenario():
            self.log_in("admin", "adminpw")
            self.see_instances()
            self.click("db1.example.com", "console")
            self.wait_for(lambda d: "login:" in screen(), "the console")
            self.wait_for(lambda d: self.text_of("#console-state")
                          == ["connected"], "the console connected")
            self.driver.switch_to.active_element.send_keys("root")
            self.wait_for(lambda d: "login: ROOT" in screen(),
                          "the typed keys echoed")
            self.screenshot("serial-console")
            self.assert_no_script_errors()
            self.driver.find_element(By.ID, "console-close").click()
            self.assertFalse(self.driver.find_element(
                By.ID, "console-section").is_displayed())
        yield deferToThread(scenario)
        self.assertEqual(opened, [("db1.example.com", "serial", "admin")])

    @defer.inlineCallbacks
    def test_vnc_console(self):
        """
        An instance with a VNC display gets a VNC button, which opens
        noVNC on it through a console token and the WebSocket: noVNC
        connects and draws what the display sends.
        """
        opened = self.stand_in_console(BlueDisplay)
        # The fake hypervisor allocates no port and has no VNC parameter.
        yield self.master.config.update_object(
            "instances", self.uuid_of("db1.example.com"), network_port=11000,
            hvparams={"vnc_bind_address": "0.0.0.0"})

        def pixel():
            return self.driver.execute_script(
                "const canvas = document.querySelector('#console canvas');"
                "return canvas && Array.from(canvas.getContext('2d')"
                ".getImageData(5, 5, 1, 1).data)")

        def scenario():
            self.log_in("admin", "adminpw")
            self.see_instances()
            self.click("db1.example.com", "vnc")
            self.wait_for(lambda d: self.text_of("#console-state")
                          == ["connected"], "noVNC connected")
            self.wait_for(lambda d: pixel() == list(BlueDisplay.COLOUR)
                          + [255], "the display's pixels")
            self.assertEqual(self.text_of("#console-title"),
                             ["db1.example.com (VNC)"])
            self.screenshot("vnc-console")
            # Shown, scaled to the panel (a panel without a height once
            # scaled it to nothing).
            size = self.driver.find_element(By.CSS_SELECTOR,
                                            "#console canvas").size
            self.assertEqual(size["width"] * BlueDisplay.HEIGHT,
                             size["height"] * BlueDisplay.WIDTH)
            self.assertGreater(size["width"], BlueDisplay.WIDTH)
            self.assert_no_script_errors()
        yield deferToThread(scenario)
        self.assertEqual(opened, [("db1.example.com", "vnc", "admin")])

    @defer.inlineCallbacks
    def test_read_only_user(self):
        """
        A read-only user sees everything but no action buttons; a job
        submitted elsewhere shows up as it runs, and so does its effect,
        without a reload (the job event stream).  The login outlives a
        reload of the tab, not a logout.
        """
        def scenario():
            self.log_in("reader", "readpw")
            self.see_instances()
            self.assertEqual(self.driver.find_element(By.ID, "whoami").text,
                             "reader (read-only)")
            self.assertEqual(self.text_of("#instances button"), [])
            self.assertFalse(self.driver.find_element(
                By.CSS_SELECTOR, "th.actions-column").is_displayed())
            self.screenshot("read-only")
            self.wait_for(lambda d: self.text_of("#live") == ["live"],
                          "the event stream followed")
            job_id = blockingCallFromThread(
                reactor, self.master.queue.submit, [{
                    "OP_ID": "OP_INSTANCE_STARTUP",
                    "instance_name": "web1.example.com"}])
            self.wait_for(lambda d: self.text_of(
                '#jobs tr[data-job="%s"] td.status' % job_id) == ["success"],
                "the other client's job")
            self.wait_for(lambda d: self.instance_status("web1.example.com")
                          == "running", "web1 running")
            self.assert_no_script_errors()
            # The tab keeps the login over a reload, until "Log out".
            self.driver.refresh()
            self.wait_for(lambda d: self.instance_status("web1.example.com")
                          == "running", "the page again after a reload")
            self.driver.find_element(By.ID, "logout").click()
            self.assertFalse(self.driver.find_element(By.ID, "app")
                             .is_displayed())
            self.driver.refresh()
            self.wait_for(lambda d: d.find_element(By.ID, "login")
                          .is_displayed(), "the login form after logging out")
            self.assertEqual(self.driver.execute_script(
                "return sessionStorage.length"), 0)
        yield deferToThread(scenario)

    @defer.inlineCallbacks
    def test_page_modules(self):
        """
        The page's event-stream parser splits events, skips comments and
        keeps an incomplete event for the next chunk; the vendored
        noVNC loads as an ES module under the page's CSP.
        """
        def scenario():
            self.driver.get(self.url + "/")
            parsed = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "import('./app.js').then((m) => done(m.parseEvents("
                "'retry: 2000\\n\\nid: 7\\r\\nevent: status\\r\\n"
                "data: {\"job_id\": 3}\\r\\n\\n: keepalive\\n\\n"
                "id: 8\\nevent: log\\ndata: {')))")
            self.assertEqual(parsed, {
                "events": [{"type": "status", "id": "7",
                            "data": '{"job_id": 3}'}],
                "rest": "id: 8\nevent: log\ndata: {"})
            rfb = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "import('./vendor/novnc/core/rfb.js').then("
                "(m) => done(typeof m.default), (e) => done(String(e)))")
            self.assertEqual(rfb, "function")
            self.assert_no_script_errors()
        yield deferToThread(scenario)

    @defer.inlineCallbacks
    def test_wrong_password(self):
        """
        A wrong password shows an error and nothing of the cluster; so
        does a user the users file gives no access.
        """
        def scenario():
            self.log_in("admin", "wrong")
            error = self.wait_for(
                lambda d: d.find_element(By.ID, "login-error").is_displayed()
                and d.find_element(By.ID, "login-error"), "the error")
            self.assertEqual(error.text, "Wrong user name or password.")
            self.assertFalse(self.driver.find_element(By.ID, "app")
                             .is_displayed())
            self.screenshot("wrong-password")
            self.log_in("nobody", "nopw")
            self.wait_for(lambda d: self.text_of("#login-error")
                          == ["This user may not read the cluster."],
                          "the refusal of a user without read access")
        yield deferToThread(scenario)


class MoveTests(BrowserTestBase):
    """Moving an instance between the two nodes of a cluster, from the page."""

    make_master = staticmethod(two_node_cluster)

    def pnode(self, instance):
        """:return: the primary node an instance's row shows, or None."""
        cells = self.text_of('#instances tr[data-name="%s"] td:nth-child(3)'
                             % instance)
        return cells[0] if cells else None

    @defer.inlineCallbacks
    def test_migrate_and_failover(self):
        """
        A diskless instance (nothing ties it to a node) migrates to the
        node picked beside the button, then fails over back; the table
        follows each job.
        """
        def scenario():
            self.log_in("admin", "adminpw")
            self.wait_for(lambda d: self.pnode("db1.example.com") == NODE,
                          "db1 on node1")
            self.assertEqual(self.text_of("#instances select"), [])
            self.click("db1.example.com", "migrate")
            self.assertEqual(self.text_of(
                '#instances select[data-target="migrate"] option'),
                [NODE2_NAME])
            self.screenshot("migrate-target")
            self.click("db1.example.com", "migrate")
            self.wait_for(lambda d: self.pnode("db1.example.com")
                          == NODE2_NAME, "db1 migrated to node2")
            self.assertEqual(self.instance_status("db1.example.com"),
                             "running")
            self.click("db1.example.com", "failover")
            self.click("db1.example.com", "failover")
            self.wait_for(lambda d: self.pnode("db1.example.com") == NODE,
                          "db1 failed over to node1")
            self.wait_for(lambda d: self.my_job_status()
                          == ["success", "success"], "both jobs' success")
            self.screenshot("moved")
            self.assert_no_script_errors()
        yield deferToThread(scenario)
