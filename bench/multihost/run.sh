#!/usr/bin/env bash
# A job across two hosts, on one machine: two network namespaces joined by a
# veth pair stand in for two nodes, and Open MPI starts one rank on each over
# its TCP transport, exactly as a multi-node launch does, with a launcher
# agent that enters a namespace where a cluster would use ssh.
#
#   bench/multihost/run.sh [BUILD_DIR]      (as root; not part of CI)
#
# It runs the communication layer's suite (smx-comm-tests: all-reduce,
# all-to-all, broadcast, agree) with one rank per "host", then a job whose
# rank on the second host never joins an all-reduce, which must end with
# rank 0's deadline message, then trains tiny_sm on one process and on a
# grid of one process per host, dp=2 and ep=2 (with every kind of training
# noise), which must give the one-process losses (docs/distributed.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
tests=$build/bin/smx-comm-tests
deadline=$build/bin/smx-comm-deadline
smxc=$build/bin/smxc
for binary in "$tests" "$deadline" "$smxc" "$build/lib/libsmx_comm_mpi.so"; do
  [[ -e $binary ]] || { echo "run.sh: $binary is missing: build smx first (scripts/build.sh)" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "run.sh: network namespaces need root" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "run.sh: mpirun not found (scripts/setup.sh installs Open MPI)" >&2; exit 1; }
command -v ip >/dev/null || { echo "run.sh: ip not found (apt-get install iproute2)" >&2; exit 1; }

prefix=smx-host
subnet=10.77.0
hosts=("$subnet.1" "$subnet.2")
work=$(mktemp -d)

delete_namespaces() {
  for i in 0 1; do ip netns del "$prefix$i" 2>/dev/null || true; done
}
trap 'delete_namespaces; rm -rf "$work"' EXIT
delete_namespaces

# Two "hosts", a cable between them.
for i in 0 1; do
  ip netns add "$prefix$i"
  ip -n "$prefix$i" link set lo up
done
ip link add "${prefix}0-eth" type veth peer name "${prefix}1-eth"
for i in 0 1; do
  ip link set "$prefix$i-eth" netns "$prefix$i"
  ip -n "$prefix$i" addr add "${hosts[$i]}/24" dev "$prefix$i-eth"
  ip -n "$prefix$i" link set "$prefix$i-eth" up
done

# The launcher agent: `agent HOST COMMAND...` runs COMMAND on HOST, as
# `ssh HOST COMMAND...` would (through a shell, which is how Open MPI's rsh
# launcher quotes the daemon's command line).
cat >"$work/agent" <<AGENT
#!/usr/bin/env bash
host=\$1; shift
case \$host in
  ${hosts[0]}) namespace=${prefix}0 ;;
  ${hosts[1]}) namespace=${prefix}1 ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$namespace" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=1\n' "${hosts[@]}" >"$work/hostfile"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# TCP only, on the cable: no shared memory between the "hosts".
mpi=(mpirun --hostfile "$work/hostfile" -np 2 --map-by node
     --mca plm_rsh_agent "$work/agent"
     --mca btl tcp,self --mca btl_tcp_if_include "$subnet.0/24"
     --mca oob_tcp_if_include "$subnet.0/24")

echo "== the communication suite, one rank on each of ${hosts[*]}"
ip netns exec "${prefix}0" "${mpi[@]}" \
  sh -c 'echo "rank $OMPI_COMM_WORLD_RANK on $(ip -4 -o addr show | grep -o "10\.77\.0\.[0-9]*")" >&2; exec "$0" --gtest_brief=1' "$tests"

echo "== a rank on the second host never joins an all-reduce"
start=$(date +%s)
if output=$(ip netns exec "${prefix}0" timeout 120 "${mpi[@]}" "$deadline" 2>&1); then
  echo "$output"
  echo "run.sh: the job should have failed" >&2
  exit 1
fi
elapsed=$(( $(date +%s) - start ))
echo "$output" | grep -m1 "did not complete within" || { echo "$output"; echo "run.sh: no deadline message" >&2; exit 1; }
echo "the job ended in ${elapsed} s"

echo "== training across the two hosts"
spec=$repo/test/Integration/Inputs/tiny_sm_grid_noise.yaml
corpus=$repo/test/unittests/application/data/small_corpus.txt
"$smxc" "$spec" --task=pretrain -o "$work/one"
"$work/one" train --steps 20 --lr 1e-3 --data "$corpus" --ckpt "$work/one.ckpt" >/dev/null
for grid in dp=2 ep=2; do
  "$smxc" "$spec" --task=pretrain --grid "$grid" -o "$work/$grid"
  ip netns exec "${prefix}0" "${mpi[@]}" "$work/$grid" train --steps 20 --lr 1e-3 \
    --data "$corpus" --ckpt "$work/$grid.ckpt" 2>"$work/$grid.err" | tail -2 ||
    { cat "$work/$grid.err" >&2; exit 1; }
  python3 "$repo/test/Integration/compare_metrics.py" "$work/one.ckpt/metrics.jsonl" \
    "$work/$grid.ckpt/metrics.jsonl" || { echo "run.sh: $grid across hosts differs from one process" >&2; exit 1; }
done
echo "run.sh: every check passed across two hosts"
