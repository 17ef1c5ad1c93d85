"""Socket families and types that leave the proxy's path or reach kernel
code no agent needs. (Leaving through the network namespace itself is in
the network attacks.)"""

import socket

from escape import attack, run, verdict
from hostkit import host_can_socket


def open_socket(family, kind, proto=0, then=""):
    """A python3 one-liner that opens the socket and says so."""
    return (f"python3 -c 'import socket; s = socket.socket({family}, {kind}, "
            f"{proto}); {then}print(\"socket open\")'")


def opened(r):
    return r.returncode == 0 and "socket open" in r.stdout


@attack("caps")
def test_raw_icmp_socket(brig, off):
    """Opens a raw ICMP socket, which crafts and reads packets the proxy
    never sees (ping tunnels, scans)."""
    r = run(brig, off, open_socket("socket.AF_INET", "socket.SOCK_RAW",
                                   "socket.IPPROTO_ICMP"))
    verdict(off, opened(r), r)


@attack("caps")
def test_raw_ipv6_socket(brig, off):
    """Opens a raw IPv6 socket that writes its own headers (IPPROTO_RAW):
    spoofed packets around every check of the proxy."""
    r = run(brig, off, open_socket("socket.AF_INET6", "socket.SOCK_RAW",
                                   "socket.IPPROTO_RAW"))
    verdict(off, opened(r), r)


@attack("seccomp", "caps")
def test_af_packet(brig, off):
    """Opens an AF_PACKET socket, which sends and sniffs whole frames
    below IP on any interface it can see."""
    r = run(brig, off, open_socket("socket.AF_PACKET", "socket.SOCK_RAW",
                                   "0x0300"))
    verdict(off, opened(r), r)


def _vsock_reason():
    if not host_can_socket(socket.AF_VSOCK, socket.SOCK_STREAM):
        return "this kernel has no AF_VSOCK (the host cannot open one)"
    return None


@attack("seccomp", kernel=_vsock_reason())
def test_af_vsock(brig, off):
    """Opens an AF_VSOCK socket, a channel to the hypervisor and other
    VMs that no network namespace encloses."""
    r = run(brig, off, open_socket("socket.AF_VSOCK", "socket.SOCK_STREAM"))
    verdict(off, opened(r), r)


@attack("seccomp")
def test_netlink_sock_diag(brig, off):
    """Opens NETLINK_SOCK_DIAG, which lists sockets (and their peers) and
    can destroy them: netlink beyond route is kernel surface."""
    r = run(brig, off, open_socket("socket.AF_NETLINK", "socket.SOCK_RAW",
                                   "4"))
    verdict(off, opened(r), r)


@attack("seccomp")
def test_netlink_audit(brig, off):
    """Opens NETLINK_AUDIT, the audit subsystem's door: writing audit
    records or reading them is no business of an agent."""
    r = run(brig, off, open_socket("socket.AF_NETLINK", "socket.SOCK_RAW",
                                   "9"))
    verdict(off, opened(r), r)


@attack("seccomp")
def test_netlink_kobject_uevent(brig, off):
    """Opens NETLINK_KOBJECT_UEVENT and joins its group: device events
    are a view of the host's hardware and a udev-style attack surface."""
    r = run(brig, off, open_socket("socket.AF_NETLINK", "socket.SOCK_RAW",
                                   "15", then="s.bind((0, 1)); "))
    verdict(off, opened(r), r)


def _mptcp_reason():
    if not host_can_socket(socket.AF_INET, socket.SOCK_STREAM, 262):
        return "this kernel has no MPTCP (the host cannot open a socket)"
    return None


@attack("seccomp", kernel=_mptcp_reason())
def test_mptcp_socket(brig, off):
    """Opens an MPTCP socket (IPPROTO_MPTCP): a second TCP stack whose
    subflows the proxy's identification does not expect, and a common
    source of kernel bugs."""
    r = run(brig, off, open_socket("socket.AF_INET", "socket.SOCK_STREAM",
                                   "262"))
    verdict(off, opened(r), r)
