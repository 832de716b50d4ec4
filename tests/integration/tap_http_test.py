"""dtcp-http over net_tap: curl, wrk and ab from a namespace get correct responses and no errors."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import DtcpProcess, Namespace, check, main, tap_ifname  # noqa: E402

DTCP_IP = "198.18.0.1"
BODY = 1000


def test():
    ifname = tap_ifname("h")
    config = f"""
[port]
vdev = net_tap0,iface={ifname}
address = {DTCP_IP}/24
[tcp]
msl = 1s
"""
    ns = Namespace("http")
    node = DtcpProcess("dtcp-http", config, ["--port", "80", "--body-size", str(BODY)], tag="http")
    try:
        node.wait_running()
        ns.adopt_tap(ifname, "198.18.0.2/24", "02:00:00:00:00:02")
        url = f"http://{DTCP_IP}/"
        body = ns.exec(["curl", "-sS", "--max-time", "10", url]).stdout
        check(body == "x" * BODY, f"curl body: {len(body)} bytes")
        # Three requests over one keep-alive connection.
        verbose = ns.exec(["curl", "-sS", "-v", "--max-time", "10", url, url, url, "-o", "/dev/null", "-o", "/dev/null",
                           "-o", "/dev/null"]).stderr
        check(verbose.count("Re-using existing connection") >= 2, f"curl did not reuse the connection:\n{verbose[-1500:]}")
        status = ns.exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", url]).stdout
        check(status == "405", f"DELETE answered {status}")
        http10 = ns.exec(["curl", "-sS", "--http1.0", "--max-time", "10", url]).stdout
        check(len(http10) == BODY, "HTTP/1.0 request failed")

        wrk = ns.exec(["wrk", "-t1", "-c16", "-d2s", url], timeout=60).stdout
        requests = re.search(r"(\d+) requests in", wrk)
        check(requests and int(requests.group(1)) > 100, f"wrk:\n{wrk}")
        check("Socket errors" not in wrk and "Non-2xx" not in wrk, f"wrk reported errors:\n{wrk}")

        ab = ns.exec(["ab", "-q", "-k", "-n", "2000", "-c", "8", url], timeout=60).stdout
        check(re.search(r"Complete requests:\s+2000", ab), f"ab:\n{ab}")
        check(re.search(r"Failed requests:\s+0", ab), f"ab failures:\n{ab}")
        ab_close = ns.exec(["ab", "-q", "-n", "500", "-c", "4", url], timeout=60).stdout
        check(re.search(r"Failed requests:\s+0", ab_close), f"ab without keep-alive:\n{ab_close}")

        check(node.stop() == 0, f"dtcp-http exited non-zero:\n{node.stderr_text()[-2000:]}")
        check("mbufs_in_use_after_shutdown 0" in node.stdout_text(), "mbufs leaked")
    finally:
        node.cleanup()
        ns.delete()


if __name__ == "__main__":
    main(test)
