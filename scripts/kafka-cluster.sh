#!/usr/bin/env bash
# A throwaway Apache Kafka 4.x cluster on loopback for tests and local runs: 1 or 3 combined
# broker+controller (KRaft) nodes, the broker jars resolved from Maven Central into ~/.m2.
#
#   scripts/kafka-cluster.sh up   [--brokers 1|3] [--data-dir DIR] [--owner-pid PID] [--broker-config K=V]...
#   scripts/kafka-cluster.sh down [--data-dir DIR]
#   scripts/kafka-cluster.sh stop-node  --node I [--signal TERM|KILL] [--data-dir DIR]
#   scripts/kafka-cluster.sh start-node --node I [--data-dir DIR]
#
# `up` prints progress on stderr and `KAFKA_BROKERS=host:port,...` as the last line on stdout.
# Each `up` starts a fresh cluster (the data dir is wiped; it must be empty or one of ours).
# --owner-pid: stop the cluster when that process exits (a test run that dies without `down`).
# --broker-config: a server.properties line for every node, after (so overriding) the defaults.
# stop-node/start-node take one node down and back on the same ports and data (fault tests).
# The Kafka version is pinned in scripts/kafka/pom.xml. Env: KAFKA_HEAP_OPTS (default -Xmx512m),
# KAFKA_CLUSTER_READY_TIMEOUT (seconds, default 180), KAFKA_CLUSTER_DOWN_TIMEOUT (default 20).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/kafka/pom.xml"
probe="$here/kafka/cluster-probe.mjs"
marker=".tributary-kafka-cluster"

say() { echo "kafka-cluster: $*" >&2; }
die() { say "$*"; exit 1; }

need_tools() {
  command -v java >/dev/null 2>&1 || die "java not found: install Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null 2>&1 || die "mvn not found: install Maven (Debian: apt-get install maven)"
  command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20+ (Debian: apt-get install nodejs)"
}

# The broker's runtime classpath. Cached per pom content, so a warm run starts no Maven at all;
# on a miss Maven tries offline (everything in ~/.m2) before going to Maven Central.
classpath() {
  local cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/tributary"
  local key
  key="$(sha256sum "$pom" | cut -c1-16)"
  local cached="$cache_dir/kafka-classpath-$key.txt"
  if [[ -s "$cached" ]] && all_jars_exist "$(cat "$cached")"; then
    cat "$cached"
    return
  fi
  mkdir -p "$cache_dir"
  local out="$cached.tmp.$$" log="$cached.log"
  say "resolving the Kafka broker ($(kafka_version)) with Maven (offline first)"
  if ! mvn -o -q -B -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" >"$log" 2>&1; then
    say "not all in ~/.m2 yet: downloading from Maven Central (first run; about 60 MB)"
    mvn -B -f "$pom" dependency:build-classpath -Dmdep.outputFile="$out" 2>&1 \
      | tee "$log" | grep --line-buffered -E '^\[INFO\] (Downloaded from|BUILD)' \
      | sed -u 's/^\[INFO\] /kafka-cluster: mvn: /' >&2 || true
    [[ -s "$out" ]] || die "Maven could not resolve the broker; see $log"
  fi
  mv "$out" "$cached"
  cat "$cached"
}

all_jars_exist() {
  local jar
  IFS=':' read -r -a jars <<<"$1"
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom"; }

# pid files hold JVM pids; only signal a pid whose command line names this data dir, so a
# recycled pid of an unrelated process is never touched.
ours() {
  local pid="$1"
  running "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data_dir/"
}

# Running, and not a zombie (a node this same script started and that died is still its child).
running() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ "${stat##*) }" != Z* ]]
}

node_pid() {
  local f="$data_dir/node-$1/pid"
  [[ -s "$f" ]] && ours "$(cat "$f")" && cat "$f"
}

write_configs() {
  local n="$1" cluster_id="$2"
  local -a bports=("${@:3:$n}") cports=("${@:$((3 + n)):$n}")
  local voters="" i
  for ((i = 1; i <= n; i++)); do voters+="${voters:+,}$i@127.0.0.1:${cports[$((i - 1))]}"; done
  local rf=$((n < 3 ? n : 3)) isr=$((n < 2 ? n : 2))
  cat >"$data_dir/log4j2.properties" <<EOF
# Written by scripts/kafka-cluster.sh: one server.log per node, request/state-change noise off.
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$data_dir/node-$i/data"
    cat >"$data_dir/node-$i/server.properties" <<EOF
# Written by scripts/kafka-cluster.sh ($n-node KRaft cluster, combined broker+controller).
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${bports[$((i - 1))]},CONTROLLER://127.0.0.1:${cports[$((i - 1))]}
advertised.listeners=PLAINTEXT://127.0.0.1:${bports[$((i - 1))]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data_dir/node-$i/data
# Internal topics replicated like production on a cluster of this size.
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
# Test tuning that does not change semantics: no join delay, fewer offsets partitions to create,
# fewer threads on a small machine.
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=10
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
EOF
    if ((${#broker_config[@]} > 0)); then printf '%s\n' "${broker_config[@]}" >>"$data_dir/node-$i/server.properties"; fi
  done
  echo "$cluster_id" >"$data_dir/$marker"
}

format_nodes() {
  local n="$1" cluster_id="$2" i
  local -a pids=()
  for ((i = 1; i <= n; i++)); do
    java -Xmx256m -cp "$cp" -Dlog4j2.configurationFile="$data_dir/log4j2.properties" \
      -Dkafka.logs.dir="$data_dir/node-$i" kafka.tools.StorageTool format \
      --config "$data_dir/node-$i/server.properties" --cluster-id "$cluster_id" \
      >"$data_dir/node-$i/format.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 1; i <= n; i++)); do
    wait "${pids[$((i - 1))]}" || die "formatting node $i failed: $(tail -5 "$data_dir/node-$i/format.log")"
  done
}

start_node() {
  local i="$1" cp
  cp="$(cat "$data_dir/classpath.txt")"
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS is a list of JVM flags
  nohup java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$data_dir/log4j2.properties" -Dkafka.logs.dir="$data_dir/node-$i" \
    -cp "$cp" kafka.Kafka "$data_dir/node-$i/server.properties" \
    >"$data_dir/node-$i/stdout.log" 2>&1 </dev/null &
  echo $! >"$data_dir/node-$i/pid"
}

brokers_of() { cat "$data_dir/brokers"; }

wait_ready() {
  local n="$1" pids="$2"
  if ! node "$probe" wait-ready "$(brokers_of)" "$n" "$pids" "${KAFKA_CLUSTER_READY_TIMEOUT:-180}"; then
    local i
    for ((i = 1; i <= n; i++)); do
      say "--- node $i (last lines of $data_dir/node-$i/server.log) ---"
      tail -n 15 "$data_dir/node-$i/server.log" "$data_dir/node-$i/stdout.log" 2>/dev/null >&2 || true
    done
    return 1
  fi
}

cmd_up() {
  need_tools
  [[ "$brokers" == 1 || "$brokers" == 3 ]] || die "--brokers must be 1 or 3 (got $brokers)"
  if [[ -d "$data_dir" ]]; then
    local i
    for ((i = 1; i <= 3; i++)); do
      if node_pid "$i" >/dev/null; then die "a cluster is already running in $data_dir (run: $0 down --data-dir $data_dir)"; fi
    done
    if [[ -n "$(ls -A "$data_dir")" && ! -f "$data_dir/$marker" ]]; then
      die "$data_dir is not empty and not a kafka-cluster data dir; refusing to wipe it"
    fi
    find "$data_dir" -mindepth 1 -delete
  fi
  mkdir -p "$data_dir"
  local started=$SECONDS
  cp="$(classpath)"
  echo "$cp" >"$data_dir/classpath.txt"
  say "classpath ready ($((SECONDS - started)) s); Kafka $(kafka_version), $brokers node(s) in $data_dir"

  local -a ports
  mapfile -t ports < <(node "$probe" free-ports $((2 * brokers)))
  local cluster_id
  # A KRaft cluster id is 16 random bytes in URL-safe base64 without padding. One that starts
  # with '-' reads as an option to kafka-storage (1 run in 64 failed so): draw again, as Kafka's
  # own Uuid.randomUuid() does.
  cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  write_configs "$brokers" "$cluster_id" "${ports[@]}"
  local addrs="" i
  for ((i = 0; i < brokers; i++)); do addrs+="${addrs:+,}127.0.0.1:${ports[$i]}"; done
  echo "$addrs" >"$data_dir/brokers"
  echo "$brokers" >"$data_dir/nodes"

  say "formatting KRaft storage (cluster id $cluster_id)"
  format_nodes "$brokers" "$cluster_id"
  say "starting $brokers broker(s) on $addrs"
  local pids=""
  for ((i = 1; i <= brokers; i++)); do
    start_node "$i"
    pids+="${pids:+,}$(cat "$data_dir/node-$i/pid")"
  done
  if [[ -n "$owner_pid" ]]; then start_watchdog "$owner_pid"; fi
  if ! wait_ready "$brokers" "$pids"; then
    cmd_down
    die "cluster did not come up"
  fi
  say "ready in $((SECONDS - started)) s"
  echo "KAFKA_BROKERS=$addrs"
}

# A detached loop that stops the cluster when the owner process is gone.
start_watchdog() {
  local owner="$1"
  nohup bash -c 'while kill -0 "$1" 2>/dev/null && [[ -f "$2/nodes" ]]; do sleep 2; done; exec bash "$3" down --data-dir "$2"' \
    kafka-cluster-watchdog "$owner" "$data_dir" "$here/kafka-cluster.sh" >"$data_dir/watchdog.log" 2>&1 </dev/null &
  echo $! >"$data_dir/watchdog.pid"
}

# Signals the given nodes and waits for them to exit; SIGKILL after the timeout.
stop_nodes() {
  local signal="$1"
  shift
  local -a pids=()
  local i pid
  for i in "$@"; do
    if pid="$(node_pid "$i")"; then
      kill "-$signal" "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$data_dir/node-$i/pid"
  done
  local deadline=$((SECONDS + ${KAFKA_CLUSTER_DOWN_TIMEOUT:-20}))
  for pid in "${pids[@]}"; do
    while running "$pid"; do
      if ((SECONDS >= deadline)); then
        say "node pid $pid still running ${KAFKA_CLUSTER_DOWN_TIMEOUT:-20} s after SIG$signal; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  done
  for pid in "${pids[@]}"; do
    while running "$pid"; do sleep 0.1; done
  done
}

cmd_down() {
  [[ -f "$data_dir/$marker" ]] || { say "no cluster in $data_dir"; return 0; }
  local n
  n="$(cat "$data_dir/nodes" 2>/dev/null || cat "$data_dir/nodes.stopped" 2>/dev/null || echo 3)"
  say "stopping $n node(s) in $data_dir"
  rm -f "$data_dir/nodes" # also tells the watchdog to end
  local -a all=()
  local i
  for ((i = 1; i <= n; i++)); do all+=("$i"); done
  stop_nodes TERM "${all[@]}"
  local wd
  if [[ -s "$data_dir/watchdog.pid" ]]; then
    wd="$(cat "$data_dir/watchdog.pid")"
    if tr '\0' ' ' <"/proc/$wd/cmdline" 2>/dev/null | grep -qF kafka-cluster-watchdog; then
      kill "$wd" 2>/dev/null || true
    fi
    rm -f "$data_dir/watchdog.pid"
  fi
  echo "$n" >"$data_dir/nodes.stopped"
  say "stopped"
}

cmd_stop_node() {
  [[ -n "$node" ]] || die "stop-node needs --node I"
  node_pid "$node" >/dev/null || die "node $node is not running in $data_dir"
  stop_nodes "$signal" "$node"
  say "node $node stopped (SIG$signal)"
}

cmd_start_node() {
  [[ -n "$node" ]] || die "start-node needs --node I"
  [[ -f "$data_dir/nodes" ]] || die "no running cluster in $data_dir"
  if node_pid "$node" >/dev/null; then die "node $node is already running"; fi
  start_node "$node"
  wait_ready "$(cat "$data_dir/nodes")" "$(cat "$data_dir/node-$node/pid")" || die "node $node did not rejoin"
  say "node $node is back"
}

command="${1:-}"
[[ $# -gt 0 ]] && shift
brokers=1
data_dir="${TMPDIR:-/tmp}/tributary-kafka-cluster"
owner_pid=""
node=""
signal="TERM"
broker_config=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --brokers) brokers="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    --owner-pid) owner_pid="$2"; shift 2 ;;
    --node) node="$2"; shift 2 ;;
    --signal) signal="$2"; shift 2 ;;
    --broker-config)
      [[ "$2" == *=* ]] || die "--broker-config takes KEY=VALUE (got $2)"
      broker_config+=("$2"); shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done
mkdir -p "$(dirname "$data_dir")"
data_dir="$(cd "$(dirname "$data_dir")" && pwd)/$(basename "$data_dir")"

case "$command" in
  up) cmd_up ;;
  down) cmd_down ;;
  stop-node) cmd_stop_node ;;
  start-node) cmd_start_node ;;
  *) die "usage: $0 up [--brokers 1|3] [--data-dir DIR] [--owner-pid PID] | down [--data-dir DIR] | stop-node|start-node --node I [--signal TERM|KILL] [--data-dir DIR]" ;;
esac
