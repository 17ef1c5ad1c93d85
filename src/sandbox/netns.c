/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "sandbox/netns.h"

#define NETNS_LISTEN_BACKLOG 1024

/* The namespace starts with lo down; it is the only interface. */
static int
loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (r == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * A "local" route for the synthetic range on lo (AnyIP): every address in
 * it is this host's, so a connection to any of them reaches a listener on
 * the wildcard address, and getsockname tells which one was dialed.
 */
static int
synthetic_route(void)
{
	char buf[8192];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint32_t seq = (uint32_t)time(NULL);
	int r = 0;

	if (!nl)
		return -errno;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = NETNS_SYNTH_PREFIX;
	rtm->rtm_table = RT_TABLE_LOCAL;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_HOST;
	rtm->rtm_type = RTN_LOCAL;
	mnl_attr_put_u32(nlh, RTA_DST, htonl(NETNS_SYNTH_NET));
	mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex("lo"));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	if (r == 0) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0 ||
		    mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl),
			       NULL, NULL) < 0)
			r = -errno;
	}
	mnl_socket_close(nl);
	return r;
}

int
netns_setup(char *why, size_t whylen)
{
	const char *step = "bring up lo";
	int r = loopback_up();

	if (r == 0) {
		step = "route the synthetic range";
		r = synthetic_route();
	}
	if (r == 0) {
		/* A per-namespace sysctl: low ports only mean anything here. */
		step = "allow binds on low ports";
		r = write_file_at(
		    AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start",
		    "0", 0);
	}
	if (r < 0)
		snprintf(why, whylen, "cannot %s: %s", step, strerror(-r));
	return r;
}

static int
bound_socket(int type, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int
netns_listen_tcp(uint32_t addr, uint16_t port)
{
	int fd = bound_socket(SOCK_STREAM, addr, port);

	if (fd >= 0 && listen(fd, NETNS_LISTEN_BACKLOG) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

int
netns_bind_udp(uint32_t addr, uint16_t port)
{
	return bound_socket(SOCK_DGRAM, addr, port);
}
