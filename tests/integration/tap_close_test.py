"""Close under loss of the last segments, on the wire (issue 15 part 5): a scapy peer in a
namespace (close_peer.py) closes a connection to dtcp-echo over net_tap, ignores dtcp's FIN as if
it were lost, and resends its own FIN twice: first with the same ACK (a peer still in
FIN-WAIT-1), then acknowledging dtcp's FIN (a peer in CLOSING, as dperf sends at once). dtcp must
answer each with a bare ACK <SEQ=SND.NXT><ACK=RCV.NXT>, count them as duplicates
(tcp_rx_old_duplicate), never as tcp_drop_unacceptable, and end the connection on the second."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Namespace, check, main, start_on_tap, wait_until  # noqa: E402

DTCP_IP = "198.18.5.1"
KERNEL_IP = "198.18.5.2"
PEER_IP = "198.18.5.3"  # the scapy peer's: not on the namespace's interface
PYTHON = "/usr/bin/python3"
# A short RTO would resend dtcp's FIN before the peer's second repeat; 1 s keeps the exchange
# below it on a loaded machine too.
TCP_KEYS = """
[tcp]
min_rto = 1s
"""


def tcp_counter(node, name):
    return node.telemetry_counters().get(name, 0)


def test():
    ns = Namespace("close")
    node = None
    try:
        node, ifname = start_on_tap(ns, "cl", "dtcp-echo", ["--serve", "7"], DTCP_IP, KERNEL_IP,
                                    "02:00:00:00:00:02", extra_config=TCP_KEYS)
        peer = os.path.join(os.path.dirname(__file__), "close_peer.py")
        out = ns.exec([PYTHON, peer, ifname, node.port_mac(), DTCP_IP, PEER_IP, "7"], check_rc=False, timeout=60)
        check(out.returncode == 0, f"close_peer.py failed ({out.returncode}):\n{out.stdout}\n{out.stderr[-2000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        # Offsets: seq from dtcp's ISS, ack from the peer's; "hello" (5 bytes) each way, so
        # dtcp's FIN is at 6 and the peer's at 6: dtcp's ACKs read SEQ 7, ACK 7.
        fin = result["fin"]
        check(fin and fin[-1]["flags"] == "FA" and fin[-1]["seq"] == 6 and fin[-1]["ack"] == 7,
              f"dtcp's FIN: {fin}")
        ack = {"flags": "A", "seq": 7, "ack": 7, "len": 0}
        check(result["resent_fin"] == [ack], f"answer to the resent FIN: {result['resent_fin']}")
        check(result["resent_fin_acking_ours"] == [ack],
              f"answer to the resent FIN acking ours: {result['resent_fin_acking_ours']}")
        check(tcp_counter(node, "tcp_drop_unacceptable") == 0,
              f"tcp_drop_unacceptable {tcp_counter(node, 'tcp_drop_unacceptable')}")
        check(tcp_counter(node, "tcp_rx_old_duplicate") == 2,
              f"tcp_rx_old_duplicate {tcp_counter(node, 'tcp_rx_old_duplicate')}")
        # The ACK riding on the second repeat ended LAST-ACK: no retransmission of dtcp's FIN.
        wait_until(lambda: tcp_counter(node, "tcp_conn_closed") == 1, 5, "the connection to close")
        check(tcp_counter(node, "tcp_tx_retransmits") == 0, "dtcp resent its FIN")
        check(node.stop() == 0, f"dtcp-echo failed:\n{node.stderr_text()[-2000:]}")
    finally:
        if node:
            node.cleanup()
        ns.delete()


if __name__ == "__main__":
    main(test)
