#!/bin/busybox sh
# /init of the kernel-tier initramfs (see README.md). Runs inside the QEMU guest as PID 1,
# under busybox sh. Every check prints one line the host parses:
#   KT-RESULT <name> PASS|FAIL|SKIP <detail>
# and the run ends with `KT-DONE`, then powers the guest off.
#
# busybox sh runs its own applets before $PATH, and its `ip`/`tc` applets lack netns and
# netem: iproute2 is always called by full path.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
IP=/usr/sbin/ip
TC=/usr/sbin/tc
NFT=/usr/sbin/nft
AGENT=/usr/bin/faultline-agent
API=127.0.0.1
PORT=7150
TOKEN=$(cat /kt/token)
ADDR_A=10.99.0.1
ADDR_B=10.99.0.2
# A second address behind the same veth in fl-b: the scoped-delay check's non-peer.
ADDR_C=10.99.0.3

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# What udev/systemd provide on every distro host (nft -f /dev/stdin needs it).
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# Nothing claims the controllers here: a pure cgroup v2 host, like current distros.
mount -t cgroup2 none /sys/fs/cgroup
ln -s /run /var/run 2>/dev/null

result() { echo "KT-RESULT $1 $2 $3"; }
log() { echo "KT-LOG $*"; }
finish() {
    if [ -s /tmp/agent.log ]; then
        tail -n 30 /tmp/agent.log | sed 's/^/KT-AGENT-LOG /'
    fi
    echo "KT-DONE"
    sync
    poweroff -f
}

# Seconds since boot with 10 ms resolution (busybox date has no %N).
now() { cut -d' ' -f1 /proc/uptime; }
# awk does the float arithmetic busybox sh cannot.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

# The RTTs of `ping` replies from netns a to b (or to address $2): prints "median avg count
# min"; the sorted samples go to /tmp/rtts for a KT-LOG line.
rtt() {
    /usr/sbin/ip netns exec fl-a ping -c "$1" -i 0.05 -W 2 "${2:-$ADDR_B}" 2>&1 |
        sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n > /tmp/rtts
    awk '{ v[NR] = $1; s += $1 }
         END { if (NR == 0) { print "nan nan 0 nan"; exit }
               m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
               printf "%.3f %.3f %d %.3f\n", m, s / NR, NR, v[1] }' /tmp/rtts
}
samples() { log "$1 rtts (ms, sorted): $(tr '\n' ' ' < /tmp/rtts)"; }

# One HTTP request to the agent through busybox nc (busybox wget has no DELETE).
# Sets $STATUS (e.g. 201, or 000 when nothing answered) and leaves the body in /tmp/body.
api() {
    method=$1 path=$2 body=$3
    {
        printf '%s %s HTTP/1.1\r\nHost: %s:%s\r\n' "$method" "$path" "$API" "$PORT"
        printf 'Authorization: Bearer %s\r\nConnection: close\r\n' "$TOKEN"
        printf 'Content-Type: application/json\r\nContent-Length: %s\r\n\r\n' "${#body}"
        printf '%s' "$body"
    } | timeout 20 nc -w 5 "$API" "$PORT" > /tmp/resp 2>/dev/null
    STATUS=$(head -n 1 /tmp/resp | awk '{ print $2 }')
    [ -n "$STATUS" ] || STATUS=000
    sed '1,/^\r*$/d' /tmp/resp > /tmp/body
}
ok() { case "$STATUS" in 2??) return 0 ;; esac; return 1; }
# The agent's answer, one line, for a FAIL detail.
answer() { echo "HTTP $STATUS $(head -c 300 /tmp/body | tr '\n\r' '  ')"; }

has_netem() { $TC -n fl-a qdisc show dev veth-a | grep -q netem; }
qdisc_line() { $TC -n fl-a qdisc show dev veth-a | head -n 1; }

delay_body() { # id latency leaseSeconds
    echo "{\"id\":\"$1\",\"kind\":{\"networkDelay\":{\"latency\":\"$2\",\"jitter\":\"0s\",\"correlation\":0}},\"targets\":[{\"netns\":\"fl-a\"}],\"leaseSeconds\":$3}"
}

# --- guest set-up ---------------------------------------------------------------------
log "kernel $(uname -r), boot took $(now) s, $(dmesg | grep -o 'Hypervisor detected: .*' || echo 'no hypervisor detected'), $(grep -c ^processor /proc/cpuinfo) cpu, clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), cmdline: $(cat /proc/cmdline)"
$IP link set lo up
# veth is set-up, not the subject: load it explicitly. From here on the kernel's own
# module autoloading is refused (and logged), so only the agent can load sch_netem.
modprobe veth || log "modprobe veth failed"
echo /kt/modprobe-refuse > /proc/sys/kernel/modprobe
$IP netns add fl-a && $IP netns add fl-b &&
    $IP link add veth-a type veth peer name veth-b &&
    $IP link set veth-a netns fl-a && $IP link set veth-b netns fl-b &&
    $IP -n fl-a addr add "$ADDR_A/24" dev veth-a && $IP -n fl-b addr add "$ADDR_B/24" dev veth-b &&
    $IP -n fl-a link set lo up && $IP -n fl-b link set lo up &&
    $IP -n fl-a link set veth-a up && $IP -n fl-b link set veth-b up
if [ $? -ne 0 ]; then
    result netns FAIL "could not create netns fl-a/fl-b joined by a veth"
    finish
fi
rtt 3 > /dev/null # ARP and caches warm
set -- $(rtt 20)
BASE=$1 BASE_MIN=$4
samples baseline
if [ "$3" -lt 18 ]; then
    result baseline FAIL "only $3 of 20 pings answered between the netns"
    finish
fi
result baseline PASS "rtt median ${BASE} ms avg $2 ms over $3 pings"

# --- agent ----------------------------------------------------------------------------
mkdir -p /tmp/agent
echo "$TOKEN" > /tmp/token
NETEM_BEFORE=absent
grep -q '^sch_netem ' /proc/modules && NETEM_BEFORE=present
RUST_LOG=info $AGENT --listen "$API:$PORT" --state-dir /tmp/agent --token-file /tmp/token \
    > /tmp/agent.log 2>&1 &
AGENT_PID=$!
t0=$(now)
AGENT_UP=""
while within "$(calc "$(now) - $t0")" 0 15; do
    if ! kill -0 "$AGENT_PID" 2>/dev/null; then
        wait "$AGENT_PID"
        AGENT_UP="agent exited with status $? before answering /healthz"
        break
    fi
    api GET /healthz ""
    if ok; then AGENT_UP=yes; break; fi
    sleep 0.2
done
[ -n "$AGENT_UP" ] || AGENT_UP="agent did not answer /healthz within 15 s (last: $(answer))"
if [ "$AGENT_UP" != yes ]; then
    for c in netem-autoload delay recover loss netem-combined netem-observe scoped-delay lease partition stress-cpu stress-memory; do
        result "$c" FAIL "$AGENT_UP"
    done
    finish
fi
log "agent up after $(calc "$(now) - $t0") s"

# (a) + (b): the agent loads sch_netem itself, and delay 10ms adds 10 ms of RTT.
api POST /v1/faults "$(delay_body t1 10ms 60)"
if ! ok; then
    result netem-autoload FAIL "apply networkDelay: $(answer)"
    result delay FAIL "apply networkDelay: $(answer)"
    result recover FAIL "nothing applied to recover"
else
    NETEM_AFTER=absent
    grep -q '^sch_netem ' /proc/modules && NETEM_AFTER=present
    refused=$(tr '\n' ' ' < /tmp/modprobe-requests 2>/dev/null)
    detail="sch_netem before apply: $NETEM_BEFORE, after: $NETEM_AFTER; kernel autoload requests (refused): ${refused:-none}"
    if [ "$NETEM_BEFORE" = absent ] && [ "$NETEM_AFTER" = present ]; then
        result netem-autoload PASS "$detail"
    else
        result netem-autoload FAIL "$detail"
    fi
    QDISC=$(qdisc_line)
    set -- $(rtt 20)
    samples delayed
    DELAYED=$1
    RISE=$(calc "$DELAYED - $BASE")
    MIN_RISE=$(calc "$4 - $BASE_MIN")
    detail="rtt median ${BASE} -> ${DELAYED} ms (rise ${RISE} ms; min ${BASE_MIN} -> $4, rise ${MIN_RISE} ms; avg $2, $3 replies); qdisc: $QDISC"
    # netem's delay is a floor under every packet, so the minimum RTT rises by exactly the
    # delay; emulation adds noise on top, which moves the median up, never down. Judge the
    # floor by P4's bound, 10 +- 0.5 ms (run.sh counts guest time in instructions, so the
    # emulator's own cost stays out of it), and allow the median 2 ms of noise.
    if [ "$3" -ge 18 ] && within "$MIN_RISE" 9.5 10.5 && within "$RISE" 9.5 12; then
        result delay PASS "$detail"
    else
        result delay FAIL "$detail"
    fi

    # (c) explicit recovery restores the RTT and leaves no netem behind.
    api DELETE /v1/faults/t1 ""
    if ! ok; then
        result recover FAIL "recover t1: $(answer); qdisc: $(qdisc_line)"
    else
        LEFT=$(qdisc_line)
        set -- $(rtt 20)
        DIFF=$(calc "$1 - $BASE")
        detail="rtt median back to $1 ms (baseline ${BASE}, diff ${DIFF}); qdisc now: $LEFT"
        if ! has_netem && [ "$3" -ge 18 ] && within "$DIFF" -1 1; then
            result recover PASS "$detail"
        else
            result recover FAIL "$detail"
        fi
    fi
fi

# (d) loss 50 %: 200 pings, 40-60 % dropped, then recovered.
api POST /v1/faults '{"id":"t2","kind":{"networkLoss":{"loss":50,"correlation":0}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
if ! ok; then
    result loss FAIL "apply networkLoss: $(answer)"
else
    QDISC=$(qdisc_line)
    STATS=$($IP netns exec fl-a ping -q -c 200 -i 0.02 -W 1 "$ADDR_B" 2>&1 | grep 'packets transmitted')
    SENT=$(echo "$STATS" | awk '{ print $1 }')
    GOT=$(echo "$STATS" | awk '{ print $4 }')
    LOST=$(calc "100 * (${SENT:-0} - ${GOT:-0}) / (${SENT:-0} + (${SENT:-0} == 0))")
    api DELETE /v1/faults/t2 ""
    RECOVERED="recovered"
    ok || RECOVERED="recover failed: $(answer)"
    has_netem && RECOVERED="$RECOVERED, but netem still there: $(qdisc_line)"
    detail="${GOT:-?} of ${SENT:-?} pings answered, ${LOST} % lost; qdisc: $QDISC; $RECOVERED"
    if [ "${SENT:-0}" -eq 200 ] && within "$LOST" 40 60 && [ "$RECOVERED" = recovered ]; then
        result loss PASS "$detail"
    else
        result loss FAIL "$detail"
    fi
fi

# (d1) networkNetem: delay, loss and netem's own rate in ONE netem qdisc (Chaos Mesh's
# `action: netem`). The floor of the RTT rises by the delay plus the echo request's
# serialisation at 1 Mbit/s (98 bytes on the wire: 0.784 ms; the reply is not shaped),
# about a fifth of the requests are lost, and the qdisc shows all three.
api POST /v1/faults '{"id":"t8","kind":{"networkNetem":{"latency":"10ms","loss":20,"rate":"1mbit"}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
if ! ok; then
    result netem-combined FAIL "apply networkNetem: $(answer)"
else
    QDISC=$(qdisc_line)
    set -- $(rtt 100)
    samples netem-combined
    GOT=$3 MIN_RISE=$(calc "$4 - $BASE_MIN") LOST=$(calc "100 - $3")
    api DELETE /v1/faults/t8 ""
    RECOVERED=recovered
    ok || RECOVERED="recover failed: $(answer)"
    has_netem && RECOVERED="$RECOVERED, but netem still there: $(qdisc_line)"
    detail="$GOT of 100 pings answered ($LOST % lost), rtt min rise ${MIN_RISE} ms (10 ms delay + 0.784 ms at 1 Mbit/s); qdisc: $QDISC; $RECOVERED"
    # 100 requests at 20 % loss: 7-35 lost is beyond three standard deviations (4 each side).
    if echo "$QDISC" | grep -q 'delay 10' && echo "$QDISC" | grep -q 'loss 20%' &&
        echo "$QDISC" | grep -q 'rate 1Mbit' && within "$LOST" 7 35 &&
        within "$MIN_RISE" 10.28 11.28 && [ "$RECOVERED" = recovered ]; then
        result netem-combined PASS "$detail"
    else
        result netem-combined FAIL "$detail"
    fi
fi

# (d1b) the observation (GET /v1/faults/ID/observation, what the service's verify: reads):
# a netem qdisc is read back over netlink with its parameters and counters, and one deleted
# behind the agent's back (tc qdisc del) is reported unseen; recovery of what is gone is
# success and leaves nothing.
api POST /v1/faults '{"id":"t9","kind":{"networkNetem":{"latency":"10ms","loss":20}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
if ! ok; then
    result netem-observe FAIL "apply networkNetem: $(answer)"
else
    rtt 10 > /dev/null # traffic for the counters
    api GET /v1/faults/t9/observation ""
    SEEN_STATUS=$STATUS SEEN=$(tr -d '\n' < /tmp/body)
    log "observation while applied: $SEEN"
    $TC -n fl-a qdisc del dev veth-a root
    api GET /v1/faults/t9/observation ""
    GONE_STATUS=$STATUS GONE=$(tr -d '\n' < /tmp/body)
    log "observation after tc qdisc del: $GONE"
    api DELETE /v1/faults/t9 ""
    RECOVERED=recovered
    ok || RECOVERED="recover failed: $(answer)"
    has_netem && RECOVERED="$RECOVERED, but netem still there: $(qdisc_line)"
    detail="applied: $SEEN_STATUS $SEEN; deleted behind the agent: $GONE_STATUS $GONE; $RECOVERED"
    if [ "$SEEN_STATUS" = 200 ] && echo "$SEEN" | grep -q '"effective":true' &&
        echo "$SEEN" | grep -q 'veth-a: netem delay 10000us loss 20.00%' && echo "$SEEN" | grep -q 'as asked' &&
        echo "$SEEN" | grep -q 'packets since apply' &&
        [ "$GONE_STATUS" = 200 ] && echo "$GONE" | grep -q '"effective":false' &&
        echo "$GONE" | grep -q 'veth-a: no netem qdisc of ours' &&
        [ "$RECOVERED" = recovered ]; then
        result netem-observe PASS "$detail"
    else
        result netem-observe FAIL "$detail"
    fi
fi

# (d2) delay scoped to one peer: only what fl-a sends to 10.99.0.2 is delayed (htb + u32
# filter + netem, sch_htb and cls_u32 loaded by the agent too); 10.99.0.3, a second address
# behind the same veth, keeps its RTT.
scoped_left() { $TC -n fl-a qdisc show dev veth-a | grep -E 'htb|netem'; $TC -n fl-a filter show dev veth-a; }
if ! $IP -n fl-b addr add "$ADDR_C/24" dev veth-b; then
    result scoped-delay FAIL "could not add $ADDR_C to veth-b"
else
    rtt 3 "$ADDR_C" > /dev/null # ARP
    set -- $(rtt 20 "$ADDR_C")
    BASE_C=$1 BASE_C_MIN=$4
    api POST /v1/faults '{"id":"t7","kind":{"networkDelay":{"latency":"10ms","jitter":"0s","correlation":0,"direction":"to","peers":["10.99.0.2/32"]}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
    if ! ok; then
        result scoped-delay FAIL "apply networkDelay to peer $ADDR_B: $(answer)"
    else
        TREE=$($TC -n fl-a qdisc show dev veth-a | tr '\n' ';')
        set -- $(rtt 20)
        samples scoped-peer
        PEER=$1 PEER_N=$3 PEER_MIN=$4
        set -- $(rtt 20 "$ADDR_C")
        samples scoped-other
        OTHER=$1 OTHER_N=$3 OTHER_MIN=$4
        RISE_B=$(calc "$PEER - $BASE") RISE_C=$(calc "$OTHER - $BASE_C")
        MIN_RISE_B=$(calc "$PEER_MIN - $BASE_MIN") MIN_RISE_C=$(calc "$OTHER_MIN - $BASE_C_MIN")
        api DELETE /v1/faults/t7 ""
        RECOVERED=recovered
        ok || RECOVERED="recover failed: $(answer)"
        LEFT=$(scoped_left | tr '\n' ';')
        detail="peer $ADDR_B rtt ${BASE} -> ${PEER} ms (rise ${RISE_B}, min rise ${MIN_RISE_B}), other $ADDR_C ${BASE_C} -> ${OTHER} ms (rise ${RISE_C}, min rise ${MIN_RISE_C}); qdiscs: $TREE $RECOVERED; left: ${LEFT:-nothing}"
        # As for `delay`: judge the RTT floor, allow the medians the emulation's noise.
        if [ "$PEER_N" -ge 18 ] && [ "$OTHER_N" -ge 18 ] && within "$MIN_RISE_B" 9.5 10.5 &&
            within "$RISE_B" 9.5 12 && within "$MIN_RISE_C" -0.5 0.5 && within "$RISE_C" -1 2 &&
            [ -z "$LEFT" ] && [ "$RECOVERED" = recovered ]; then
            result scoped-delay PASS "$detail"
        else
            result scoped-delay FAIL "$detail"
        fi
    fi
fi

# (d3) delay scoped to one peer's one port (`peerPorts`, Chaos Mesh `externalTargets:
# ["IP:PORT"]`): netem under the htb class and exactly one u32 filter, matching 10.99.0.2 and
# destination port 5201 together; after recovery no htb/netem qdisc and no filter. (Read
# back with tc: ping has no port to tell the two apart.)
api POST /v1/faults '{"id":"t8","kind":{"networkDelay":{"latency":"10ms","jitter":"0s","correlation":0,"direction":"to","peerPorts":["10.99.0.2:5201"]}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
if ! ok; then
    result scoped-peer-port FAIL "apply networkDelay to $ADDR_B:5201: $(answer)"
else
    TREE=$($TC -n fl-a qdisc show dev veth-a | tr '\n' ';')
    FILTERS=$($TC -n fl-a filter show dev veth-a)
    FLOWS=$(echo "$FILTERS" | grep -c 'flowid fa17:1')
    PAIR=no
    # One filter's keys: dst 10.99.0.2/32 at 16, dport 5201 (0x1451) at 20.
    if echo "$FILTERS" | grep -q 'match 0a630002/ffffffff at 16' &&
        echo "$FILTERS" | grep -q 'match 00001451/0000ffff at 20'; then PAIR=yes; fi
    api DELETE /v1/faults/t8 ""
    RECOVERED=recovered
    ok || RECOVERED="recover failed: $(answer)"
    LEFT=$(scoped_left | tr '\n' ';')
    detail="qdiscs: $TREE filters with flowid: $FLOWS, peer+port keys: $PAIR; $RECOVERED; left: ${LEFT:-nothing}"
    if echo "$TREE" | grep -q netem && [ "$FLOWS" -eq 1 ] && [ "$PAIR" = yes ] &&
        [ -z "$LEFT" ] && [ "$RECOVERED" = recovered ]; then
        result scoped-peer-port PASS "$detail"
    else
        result scoped-peer-port FAIL "$detail"
    fi
fi

# (e) a 2 s lease that nobody renews: the agent removes the fault by itself within 3 s.
api POST /v1/faults "$(delay_body t3 10ms 2)"
t0=$(now)
if ! ok; then
    result lease FAIL "apply with a 2 s lease: $(answer)"
elif ! has_netem; then
    result lease FAIL "netem was not there right after the apply"
else
    while has_netem && within "$(calc "$(now) - $t0")" 0 8; do sleep 0.1; done
    ELAPSED=$(calc "$(now) - $t0")
    if has_netem; then
        result lease FAIL "netem still there ${ELAPSED} s after a 2 s lease: $(qdisc_line)"
    elif within "$ELAPSED" 0 3; then
        result lease PASS "netem removed ${ELAPSED} s after the apply (lease 2 s, never renewed)"
    else
        result lease FAIL "netem removed only ${ELAPSED} s after the apply (lease 2 s, limit 3 s)"
    fi
fi

# (f) partition: nftables in netns a drops traffic to and from b.
if [ ! -x "$NFT" ]; then
    result partition SKIP "nft is not in the initramfs (no /usr/sbin/nft on the host)"
else
    # nf_tables and its expressions are set-up here, not the subject: let the kernel
    # autoload them through busybox modprobe.
    echo /sbin/modprobe > /proc/sys/kernel/modprobe
    api POST /v1/faults '{"id":"t4","kind":{"networkPartition":{"direction":"both","peers":["10.99.0.2/32"]}},"targets":[{"netns":"fl-a"}],"leaseSeconds":60}'
    if ! ok && grep -q 'not built yet' /tmp/body; then
        result partition SKIP "the partition executor has not landed: $(answer)"
    elif ! ok; then
        result partition FAIL "apply networkPartition: $(answer)"
    else
        TABLES=$($IP netns exec fl-a $NFT list tables 2>&1 | tr '\n' ' ')
        set -- $(rtt 5)
        CUT=$3
        api DELETE /v1/faults/t4 ""
        RECOVERED=recovered
        ok || RECOVERED="recover failed: $(answer)"
        LEFT=$($IP netns exec fl-a $NFT list tables 2>&1 | tr '\n' ' ')
        set -- $(rtt 5)
        detail="$CUT of 5 pings answered while partitioned (tables: ${TABLES:-none}), $3 of 5 after; $RECOVERED; tables left: ${LEFT:-none}"
        if [ "$CUT" -eq 0 ] && [ "$3" -ge 4 ] && [ -z "$LEFT" ] && [ "$RECOVERED" = recovered ]; then
            result partition PASS "$detail"
        else
            result partition FAIL "$detail"
        fi
    fi
fi

# (g) stress on cgroup v2: a CPU worker and a memory worker land in the target cgroup.
CG=/sys/fs/cgroup/fltest-kt
cg_ready() {
    echo "+cpu +memory" > /sys/fs/cgroup/cgroup.subtree_control && mkdir -p "$CG" &&
        { sleep 600 & echo $! > "$CG/cgroup.procs"; }
}
usage() { awk '$1 == "usage_usec" { print $2 }' "$CG/cpu.stat"; }
procs() { wc -l < "$CG/cgroup.procs"; }
if ! cg_ready; then
    result stress-cpu FAIL "could not set up cgroup v2 $CG with cpu and memory"
    result stress-memory FAIL "could not set up cgroup v2 $CG with cpu and memory"
else
    PROCS0=$(procs)
    api POST /v1/faults '{"id":"t5","kind":{"stressCpu":{"workers":1,"load":100}},"targets":[{"cgroup":"/fltest-kt"}],"leaseSeconds":60}'
    if ! ok && grep -q 'not built yet' /tmp/body; then
        result stress-cpu SKIP "the stress executor has not landed: $(answer)"
    elif ! ok; then
        result stress-cpu FAIL "apply stressCpu: $(answer)"
    else
        sleep 0.5 # workers start
        u0=$(usage) t0=$(now)
        sleep 2
        u1=$(usage) t1=$(now)
        CORES=$(calc "($u1 - $u0) / 1000000 / ($t1 - $t0)")
        PROCS1=$(procs)
        api DELETE /v1/faults/t5 ""
        RECOVERED=recovered
        ok || RECOVERED="recover failed: $(answer)"
        sleep 0.2
        detail="cgroup used $CORES cores over $(calc "$t1 - $t0") s (1 vCPU); procs $PROCS0 -> $PROCS1 -> $(procs); $RECOVERED"
        if within "$CORES" 0.7 1.05 && [ "$PROCS1" -gt "$PROCS0" ] && [ "$(procs)" -eq "$PROCS0" ] &&
            [ "$RECOVERED" = recovered ]; then
            result stress-cpu PASS "$detail"
        else
            result stress-cpu FAIL "$detail"
        fi
    fi
    M0=$(cat "$CG/memory.current")
    api POST /v1/faults '{"id":"t6","kind":{"stressMemory":{"workers":1,"size":"32MiB"}},"targets":[{"cgroup":"/fltest-kt"}],"leaseSeconds":60}'
    if ! ok && grep -q 'not built yet' /tmp/body; then
        result stress-memory SKIP "the stress executor has not landed: $(answer)"
    elif ! ok; then
        result stress-memory FAIL "apply stressMemory: $(answer)"
    else
        # Allocation under TCG takes a moment: wait for memory.current to settle.
        t0=$(now) M1=$M0
        while within "$(calc "$(now) - $t0")" 0 10; do
            M1=$(cat "$CG/memory.current")
            [ $((M1 - M0)) -ge $((31 * 1048576)) ] && break
            sleep 0.2
        done
        sleep 0.5
        M1=$(cat "$CG/memory.current")
        RISE=$(calc "($M1 - $M0) / 1048576")
        api DELETE /v1/faults/t6 ""
        RECOVERED=recovered
        ok || RECOVERED="recover failed: $(answer)"
        sleep 0.5
        M2=$(cat "$CG/memory.current")
        detail="memory.current rose by $RISE MiB for 32 MiB, $(calc "($M2 - $M0) / 1048576") MiB above the start after recovery; procs $(procs) (was $PROCS0); $RECOVERED"
        if within "$RISE" 30.4 36 && within "$(calc "($M2 - $M0) / 1048576")" -64 2 &&
            [ "$(procs)" -eq "$PROCS0" ] && [ "$RECOVERED" = recovered ]; then
            result stress-memory PASS "$detail"
        else
            result stress-memory FAIL "$detail"
        fi
    fi
fi

# (h) ioThrottle on cgroup v2: io.max on a loop device for a cgroup, read back, dd with
# O_DIRECT in that cgroup slowed to about the limit, the line gone after recovery.
CGIO=/sys/fs/cgroup/fltest-io
io_ready() {
    modprobe loop 2>/dev/null || log "modprobe loop failed"
    # busybox losetup has no --show: ask for the free device, then attach it.
    dd if=/dev/zero of=/tmp/io.img bs=1M count=16 2>/dev/null &&
        LO=$(losetup -f) && losetup "$LO" /tmp/io.img && [ -b "$LO" ] &&
        IODEV=$(cat "/sys/block/${LO#/dev/}/dev") && log "io-throttle device $LO $IODEV" &&
        echo "+io" > /sys/fs/cgroup/cgroup.subtree_control && mkdir -p "$CGIO"
}
# Seconds to write $1 64 KiB blocks to the loop device with O_DIRECT from inside $CGIO.
io_dd() {
    t0=$(now)
    sh -c "echo \$\$ > $CGIO/cgroup.procs && exec dd if=/dev/zero of=$LO bs=64k count=$1 oflag=direct" 2>/tmp/dd.err || return 1
    calc "$(now) - $t0"
}
if ! io_ready; then
    result io-throttle-v2 SKIP "no loop device or io controller in the guest (loop module, losetup, +io)"
elif ! io_dd 4 > /tmp/dd.fast; then
    result io-throttle-v2 SKIP "busybox dd cannot write with oflag=direct here: $(head -c 200 /tmp/dd.err)"
else
    api POST /v1/faults '{"id":"t7","kind":{"ioThrottle":{"device":"'"$IODEV"'","wbps":"1MiB"}},"targets":[{"cgroup":"/fltest-io"}],"leaseSeconds":60}'
    if ! ok; then
        result io-throttle-v2 FAIL "apply ioThrottle: $(answer)"
    else
        LINE=$(grep "^$IODEV " "$CGIO/io.max")
        SLOW=$(io_dd 32) # 2 MiB at 1 MiB/s
        api GET /v1/faults/t7/observation ""
        SEEN=$(head -c 300 /tmp/body | tr '\n' ' ')
        api DELETE /v1/faults/t7 ""
        RECOVERED=recovered
        ok || RECOVERED="recover failed: $(answer)"
        AFTER=$(grep "^$IODEV " "$CGIO/io.max")
        STAT=$(grep "^$IODEV " "$CGIO/io.stat")
        detail="io.max '$LINE'; 2 MiB O_DIRECT in $SLOW s (256 KiB unthrottled in $(cat /tmp/dd.fast) s); io.stat '$STAT'; after recovery '${AFTER:-no line}'; $RECOVERED; observed: $SEEN"
        if echo "$LINE" | grep -q "wbps=1048576" && within "$SLOW" 1.4 3.5 &&
            ! echo "$AFTER" | grep -q "wbps=1048576" && [ "$RECOVERED" = recovered ] &&
            echo "$SEEN" | grep -q '"effective":true'; then
            result io-throttle-v2 PASS "$detail"
        else
            result io-throttle-v2 FAIL "$detail"
        fi
    fi
fi

# Graceful stop: SIGTERM recovers everything, then the agent exits.
kill -TERM "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID"
log "agent exited with status $?"

# `faultline run` (agent in-process) killed with -9 mid-netem: its watchdog, a child in a
# process group of its own, recovers the journal; nobody runs `faultline recover`. The delay is
# proven in place (the RTT floor rises), then proven gone (qdisc removed, floor back).
FL=/usr/bin/faultline
cat > /tmp/wd.yaml <<EOF
apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: { name: wd-netem }
spec:
  target: { local: { netns: fl-a } }
  steps:
    - networkDelay: { latency: 20ms }
      duration: 10m
EOF
$FL run --lease 10m --state-dir /tmp/fl-run /tmp/wd.yaml > /tmp/run.log 2>&1 &
RUN_PID=$!
t0=$(now)
while within "$(calc "$(now) - $t0")" 0 30 && ! has_netem; do sleep 0.1; done
if ! has_netem; then
    result watchdog-netem FAIL "faultline run applied no netem within 30 s: $(tail -n 5 /tmp/run.log | tr '\n' ' ')"
else
    set -- $(rtt 10)
    HELD_MIN=$4
    WATCHDOGS=$(ps | grep -c '[_]_watchdog')
    kill -9 "$RUN_PID"
    t0=$(now)
    while within "$(calc "$(now) - $t0")" 0 10 && has_netem; do sleep 0.05; done
    ELAPSED=$(calc "$(now) - $t0")
    GONE=yes
    has_netem && GONE="no: $(qdisc_line)"
    set -- $(rtt 10)
    AFTER_MIN=$4
    sleep 1
    LEFT=$(ps | grep -c '[_]_watchdog')
    SAID=$(grep -o 'faultline watchdog: .*' /tmp/run.log | head -n 1)
    detail="rtt floor ${BASE_MIN} -> ${HELD_MIN} ms with the run's 20 ms delay ($WATCHDOGS watchdog); after kill -9 of the run: netem gone $GONE after ${ELAPSED} s, floor ${AFTER_MIN} ms, watchdogs left $LEFT; $SAID"
    # Guest time counts the instructions of an emulated CPU (and this is a debug build):
    # the bound is looser than the 1-2 s asked of a real machine.
    if within "$(calc "$HELD_MIN - $BASE_MIN")" 19 25 && [ "$GONE" = yes ] &&
        within "$ELAPSED" 0 5 && within "$(calc "$AFTER_MIN - $BASE_MIN")" -1 2 &&
        [ "$WATCHDOGS" -eq 1 ] && [ "$LEFT" -eq 0 ]; then
        result watchdog-netem PASS "$detail"
    else
        result watchdog-netem FAIL "$detail"
    fi
fi
# Whatever happened above, nothing stays delayed.
$TC -n fl-a qdisc del dev veth-a root 2>/dev/null
finish

