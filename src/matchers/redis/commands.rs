//! Redis's command table, as far as the inline form needs it: every
//! command's name and arity, the subcommands of the container commands
//! (`CLIENT LIST`, `CONFIG GET`, ...), and the commands whose first
//! argument Redis reads as an integer.
//!
//! Redis checks an inline line in this order before it runs it
//! (`processCommand` in `server.c`): the name must be a command, a
//! container's second word one of its subcommands (else "unknown
//! subcommand"), and the number of words must fit the arity (else "wrong
//! number of arguments"). An arity counts the words including the name,
//! and for a subcommand the container's name too: positive, exactly that
//! many; negative, at least its absolute value (`SET` is -3: `SET key
//! value` and options after).
//!
//! The facts come from redis/redis `src/commands/*.json`, the definitions
//! `COMMAND INFO` reports, at commit 4f8cdc2a1 (2024-10-18), and for the
//! hash commands Redis 8.0 added (`HGETDEL`, `HGETEX`, `HSETEX`) from their
//! 8.0 definitions. Sentinel's subcommands are listed under `SENTINEL`;
//! module commands are not listed.

/// One command, or one subcommand of a container command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Command {
    /// Upper case, as Redis lists it (Redis compares names ignoring case).
    pub(super) name: &'static str,
    /// Redis's arity: see the module documentation.
    arity: i8,
    /// A container's subcommands, sorted by name; empty for the others.
    pub(super) subcommands: &'static [Command],
    /// Whether the first argument, if any, is an integer (`SELECT index`,
    /// `WAIT numreplicas`, `HELLO protover`): Redis refuses a word there
    /// before it does anything else.
    pub(super) integer_first: bool,
}

impl Command {
    /// The fewest words a line of this command may have, the name
    /// included.
    pub(super) fn min_words(&self) -> usize {
        usize::from(self.arity.unsigned_abs())
    }

    /// The most words a line of this command may have, the name included.
    pub(super) fn max_words(&self) -> usize {
        if self.arity > 0 {
            self.min_words()
        } else {
            usize::MAX
        }
    }

    /// Whether a line of `words` words, the name included, has a number
    /// Redis accepts.
    pub(super) fn takes(&self, words: usize) -> bool {
        (self.min_words()..=self.max_words()).contains(&words)
    }
}

/// The first command of `table` (sorted by name) whose name starts with
/// `word`, compared ignoring ASCII case: the command `word` names once it
/// is complete, or `None` when no command starts that way.
pub(super) fn first_starting_with(
    table: &'static [Command],
    word: &[u8],
) -> Option<&'static Command> {
    let upper = || word.iter().map(u8::to_ascii_uppercase);
    let first_not_below = table.partition_point(|command| command.name.bytes().lt(upper()));
    table.get(first_not_below).filter(|command| {
        command.name.len() >= word.len() && command.name.bytes().take(word.len()).eq(upper())
    })
}

const fn command(name: &'static str, arity: i8) -> Command {
    Command {
        name,
        arity,
        subcommands: &[],
        integer_first: false,
    }
}

const fn container(name: &'static str, arity: i8, subcommands: &'static [Command]) -> Command {
    Command {
        subcommands,
        ..command(name, arity)
    }
}

const fn integer_first(name: &'static str, arity: i8) -> Command {
    Command {
        integer_first: true,
        ..command(name, arity)
    }
}

/// ACL's subcommands.
const ACL: &[Command] = &[
    command("CAT", -2),
    command("DELUSER", -3),
    command("DRYRUN", -4),
    command("GENPASS", -2),
    command("GETUSER", 3),
    command("HELP", 2),
    command("LIST", 2),
    command("LOAD", 2),
    command("LOG", -2),
    command("SAVE", 2),
    command("SETUSER", -3),
    command("USERS", 2),
    command("WHOAMI", 2),
];

/// CLIENT's subcommands.
const CLIENT: &[Command] = &[
    command("CACHING", 3),
    command("GETNAME", 2),
    command("GETREDIR", 2),
    command("HELP", 2),
    command("ID", 2),
    command("INFO", 2),
    command("KILL", -3),
    command("LIST", -2),
    command("NO-EVICT", 3),
    command("NO-TOUCH", 3),
    command("PAUSE", -3),
    command("REPLY", 3),
    command("SETINFO", 4),
    command("SETNAME", 3),
    command("TRACKING", -3),
    command("TRACKINGINFO", 2),
    command("UNBLOCK", -3),
    command("UNPAUSE", 2),
];

/// CLUSTER's subcommands.
const CLUSTER: &[Command] = &[
    command("ADDSLOTS", -3),
    command("ADDSLOTSRANGE", -4),
    command("BUMPEPOCH", 2),
    command("COUNT-FAILURE-REPORTS", 3),
    command("COUNTKEYSINSLOT", 3),
    command("DELSLOTS", -3),
    command("DELSLOTSRANGE", -4),
    command("FAILOVER", -2),
    command("FLUSHSLOTS", 2),
    command("FORGET", 3),
    command("GETKEYSINSLOT", 4),
    command("HELP", 2),
    command("INFO", 2),
    command("KEYSLOT", 3),
    command("LINKS", 2),
    command("MEET", -4),
    command("MYID", 2),
    command("MYSHARDID", 2),
    command("NODES", 2),
    command("REPLICAS", 3),
    command("REPLICATE", 3),
    command("RESET", -2),
    command("SAVECONFIG", 2),
    command("SET-CONFIG-EPOCH", 3),
    command("SETSLOT", -4),
    command("SHARDS", 2),
    command("SLAVES", 3),
    command("SLOTS", 2),
];

/// COMMAND's subcommands.
const COMMAND: &[Command] = &[
    command("COUNT", 2),
    command("DOCS", -2),
    command("GETKEYS", -3),
    command("GETKEYSANDFLAGS", -3),
    command("HELP", 2),
    command("INFO", -2),
    command("LIST", -2),
];

/// CONFIG's subcommands.
const CONFIG: &[Command] = &[
    command("GET", -3),
    command("HELP", 2),
    command("RESETSTAT", 2),
    command("REWRITE", 2),
    command("SET", -4),
];

/// FUNCTION's subcommands.
const FUNCTION: &[Command] = &[
    command("DELETE", 3),
    command("DUMP", 2),
    command("FLUSH", -2),
    command("HELP", 2),
    command("KILL", 2),
    command("LIST", -2),
    command("LOAD", -3),
    command("RESTORE", -3),
    command("STATS", 2),
];

/// LATENCY's subcommands.
const LATENCY: &[Command] = &[
    command("DOCTOR", 2),
    command("GRAPH", 3),
    command("HELP", 2),
    command("HISTOGRAM", -2),
    command("HISTORY", 3),
    command("LATEST", 2),
    command("RESET", -2),
];

/// MEMORY's subcommands.
const MEMORY: &[Command] = &[
    command("DOCTOR", 2),
    command("HELP", 2),
    command("MALLOC-STATS", 2),
    command("PURGE", 2),
    command("STATS", 2),
    command("USAGE", -3),
];

/// MODULE's subcommands.
const MODULE: &[Command] = &[
    command("HELP", 2),
    command("LIST", 2),
    command("LOAD", -3),
    command("LOADEX", -3),
    command("UNLOAD", 3),
];

/// OBJECT's subcommands.
const OBJECT: &[Command] = &[
    command("ENCODING", 3),
    command("FREQ", 3),
    command("HELP", 2),
    command("IDLETIME", 3),
    command("REFCOUNT", 3),
];

/// PUBSUB's subcommands.
const PUBSUB: &[Command] = &[
    command("CHANNELS", -2),
    command("HELP", 2),
    command("NUMPAT", 2),
    command("NUMSUB", -2),
    command("SHARDCHANNELS", -2),
    command("SHARDNUMSUB", -2),
];

/// SCRIPT's subcommands.
const SCRIPT: &[Command] = &[
    command("DEBUG", 3),
    command("EXISTS", -3),
    command("FLUSH", -2),
    command("HELP", 2),
    command("KILL", 2),
    command("LOAD", 3),
];

/// SENTINEL's subcommands.
const SENTINEL: &[Command] = &[
    command("CKQUORUM", 3),
    command("CONFIG", -4),
    command("DEBUG", -2),
    command("FAILOVER", 3),
    command("FLUSHCONFIG", 2),
    command("GET-MASTER-ADDR-BY-NAME", 3),
    command("HELP", 2),
    command("INFO-CACHE", -3),
    command("IS-MASTER-DOWN-BY-ADDR", 6),
    command("MASTER", 3),
    command("MASTERS", 2),
    command("MONITOR", 6),
    command("MYID", 2),
    command("PENDING-SCRIPTS", 2),
    command("REMOVE", 3),
    command("REPLICAS", 3),
    command("RESET", 3),
    command("SENTINELS", 3),
    command("SET", -5),
    command("SIMULATE-FAILURE", -3),
    command("SLAVES", 3),
];

/// SLOWLOG's subcommands.
const SLOWLOG: &[Command] = &[
    command("GET", -2),
    command("HELP", 2),
    command("LEN", 2),
    command("RESET", 2),
];

/// XGROUP's subcommands.
const XGROUP: &[Command] = &[
    command("CREATE", -5),
    command("CREATECONSUMER", 5),
    command("DELCONSUMER", 5),
    command("DESTROY", 4),
    command("HELP", 2),
    command("SETID", -5),
];

/// XINFO's subcommands.
const XINFO: &[Command] = &[
    command("CONSUMERS", 4),
    command("GROUPS", 3),
    command("HELP", 2),
    command("STREAM", -3),
];

/// Every command, sorted by name (by bytes).
pub(super) const COMMANDS: &[Command] = &[
    container("ACL", -2, ACL),
    command("APPEND", 3),
    command("ASKING", 1),
    command("AUTH", -2),
    command("BGREWRITEAOF", 1),
    command("BGSAVE", -1),
    command("BITCOUNT", -2),
    command("BITFIELD", -2),
    command("BITFIELD_RO", -2),
    command("BITOP", -4),
    command("BITPOS", -3),
    command("BLMOVE", 6),
    command("BLMPOP", -5),
    command("BLPOP", -3),
    command("BRPOP", -3),
    command("BRPOPLPUSH", 4),
    command("BZMPOP", -5),
    command("BZPOPMAX", -3),
    command("BZPOPMIN", -3),
    container("CLIENT", -2, CLIENT),
    container("CLUSTER", -2, CLUSTER),
    container("COMMAND", -1, COMMAND),
    container("CONFIG", -2, CONFIG),
    command("COPY", -3),
    command("DBSIZE", 1),
    command("DEBUG", -2),
    command("DECR", 2),
    command("DECRBY", 3),
    command("DEL", -2),
    command("DISCARD", 1),
    command("DUMP", 2),
    command("ECHO", 2),
    command("EVAL", -3),
    command("EVALSHA", -3),
    command("EVALSHA_RO", -3),
    command("EVAL_RO", -3),
    command("EXEC", 1),
    command("EXISTS", -2),
    command("EXPIRE", -3),
    command("EXPIREAT", -3),
    command("EXPIRETIME", 2),
    command("FAILOVER", -1),
    command("FCALL", -3),
    command("FCALL_RO", -3),
    command("FLUSHALL", -1),
    command("FLUSHDB", -1),
    container("FUNCTION", -2, FUNCTION),
    command("GEOADD", -5),
    command("GEODIST", -4),
    command("GEOHASH", -2),
    command("GEOPOS", -2),
    command("GEORADIUS", -6),
    command("GEORADIUSBYMEMBER", -5),
    command("GEORADIUSBYMEMBER_RO", -5),
    command("GEORADIUS_RO", -6),
    command("GEOSEARCH", -7),
    command("GEOSEARCHSTORE", -8),
    command("GET", 2),
    command("GETBIT", 3),
    command("GETDEL", 2),
    command("GETEX", -2),
    command("GETRANGE", 4),
    command("GETSET", 3),
    command("HDEL", -3),
    integer_first("HELLO", -1),
    command("HEXISTS", 3),
    command("HEXPIRE", -6),
    command("HEXPIREAT", -6),
    command("HEXPIRETIME", -5),
    command("HGET", 3),
    command("HGETALL", 2),
    command("HGETDEL", -5),
    command("HGETEX", -5),
    command("HINCRBY", 4),
    command("HINCRBYFLOAT", 4),
    command("HKEYS", 2),
    command("HLEN", 2),
    command("HMGET", -3),
    command("HMSET", -4),
    command("HPERSIST", -5),
    command("HPEXPIRE", -6),
    command("HPEXPIREAT", -6),
    command("HPEXPIRETIME", -5),
    command("HPTTL", -5),
    command("HRANDFIELD", -2),
    command("HSCAN", -3),
    command("HSET", -4),
    command("HSETEX", -6),
    command("HSETNX", 4),
    command("HSTRLEN", 3),
    command("HTTL", -5),
    command("HVALS", 2),
    command("INCR", 2),
    command("INCRBY", 3),
    command("INCRBYFLOAT", 3),
    command("INFO", -1),
    command("KEYS", 2),
    command("LASTSAVE", 1),
    container("LATENCY", -2, LATENCY),
    command("LCS", -3),
    command("LINDEX", 3),
    command("LINSERT", 5),
    command("LLEN", 2),
    command("LMOVE", 5),
    integer_first("LMPOP", -4),
    command("LOLWUT", -1),
    command("LPOP", -2),
    command("LPOS", -3),
    command("LPUSH", -3),
    command("LPUSHX", -3),
    command("LRANGE", 4),
    command("LREM", 4),
    command("LSET", 4),
    command("LTRIM", 4),
    container("MEMORY", -2, MEMORY),
    command("MGET", -2),
    command("MIGRATE", -6),
    container("MODULE", -2, MODULE),
    command("MONITOR", 1),
    command("MOVE", 3),
    command("MSET", -3),
    command("MSETNX", -3),
    command("MULTI", 1),
    container("OBJECT", -2, OBJECT),
    command("PERSIST", 2),
    command("PEXPIRE", -3),
    command("PEXPIREAT", -3),
    command("PEXPIRETIME", 2),
    command("PFADD", -2),
    command("PFCOUNT", -2),
    command("PFDEBUG", 3),
    command("PFMERGE", -2),
    command("PFSELFTEST", 1),
    command("PING", -1),
    command("PSETEX", 4),
    command("PSUBSCRIBE", -2),
    command("PSYNC", -3),
    command("PTTL", 2),
    command("PUBLISH", 3),
    container("PUBSUB", -2, PUBSUB),
    command("PUNSUBSCRIBE", -1),
    command("QUIT", -1),
    command("RANDOMKEY", 1),
    command("READONLY", 1),
    command("READWRITE", 1),
    command("RENAME", 3),
    command("RENAMENX", 3),
    command("REPLCONF", -1),
    command("REPLICAOF", 3),
    command("RESET", 1),
    command("RESTORE", -4),
    command("RESTORE-ASKING", -4),
    command("ROLE", 1),
    command("RPOP", -2),
    command("RPOPLPUSH", 3),
    command("RPUSH", -3),
    command("RPUSHX", -3),
    command("SADD", -3),
    command("SAVE", 1),
    integer_first("SCAN", -2),
    command("SCARD", 2),
    container("SCRIPT", -2, SCRIPT),
    command("SDIFF", -2),
    command("SDIFFSTORE", -3),
    integer_first("SELECT", 2),
    container("SENTINEL", -2, SENTINEL),
    command("SET", -3),
    command("SETBIT", 4),
    command("SETEX", 4),
    command("SETNX", 3),
    command("SETRANGE", 4),
    command("SHUTDOWN", -1),
    command("SINTER", -2),
    integer_first("SINTERCARD", -3),
    command("SINTERSTORE", -3),
    command("SISMEMBER", 3),
    command("SLAVEOF", 3),
    container("SLOWLOG", -2, SLOWLOG),
    command("SMEMBERS", 2),
    command("SMISMEMBER", -3),
    command("SMOVE", 4),
    command("SORT", -2),
    command("SORT_RO", -2),
    command("SPOP", -2),
    command("SPUBLISH", 3),
    command("SRANDMEMBER", -2),
    command("SREM", -3),
    command("SSCAN", -3),
    command("SSUBSCRIBE", -2),
    command("STRLEN", 2),
    command("SUBSCRIBE", -2),
    command("SUBSTR", 4),
    command("SUNION", -2),
    command("SUNIONSTORE", -3),
    command("SUNSUBSCRIBE", -1),
    integer_first("SWAPDB", 3),
    command("SYNC", 1),
    command("TIME", 1),
    command("TOUCH", -2),
    command("TTL", 2),
    command("TYPE", 2),
    command("UNLINK", -2),
    command("UNSUBSCRIBE", -1),
    command("UNWATCH", 1),
    integer_first("WAIT", 3),
    integer_first("WAITAOF", 4),
    command("WATCH", -2),
    command("XACK", -4),
    command("XADD", -5),
    command("XAUTOCLAIM", -6),
    command("XCLAIM", -6),
    command("XDEL", -3),
    container("XGROUP", -2, XGROUP),
    container("XINFO", -2, XINFO),
    command("XLEN", 2),
    command("XPENDING", -3),
    command("XRANGE", -4),
    command("XREAD", -4),
    command("XREADGROUP", -7),
    command("XREVRANGE", -4),
    command("XSETID", -3),
    command("XTRIM", -4),
    command("ZADD", -4),
    command("ZCARD", 2),
    command("ZCOUNT", 4),
    integer_first("ZDIFF", -3),
    command("ZDIFFSTORE", -4),
    command("ZINCRBY", 4),
    integer_first("ZINTER", -3),
    integer_first("ZINTERCARD", -3),
    command("ZINTERSTORE", -4),
    command("ZLEXCOUNT", 4),
    integer_first("ZMPOP", -4),
    command("ZMSCORE", -3),
    command("ZPOPMAX", -2),
    command("ZPOPMIN", -2),
    command("ZRANDMEMBER", -2),
    command("ZRANGE", -4),
    command("ZRANGEBYLEX", -4),
    command("ZRANGEBYSCORE", -4),
    command("ZRANGESTORE", -5),
    command("ZRANK", -3),
    command("ZREM", -3),
    command("ZREMRANGEBYLEX", 4),
    command("ZREMRANGEBYRANK", 4),
    command("ZREMRANGEBYSCORE", 4),
    command("ZREVRANGE", -4),
    command("ZREVRANGEBYLEX", -4),
    command("ZREVRANGEBYSCORE", -4),
    command("ZREVRANK", -3),
    command("ZSCAN", -3),
    command("ZSCORE", 3),
    integer_first("ZUNION", -3),
    command("ZUNIONSTORE", -4),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_sorted_upper_case_and_unique(table: &[Command]) {
        assert!(table
            .windows(2)
            .all(|pair| pair[0].name.as_bytes() < pair[1].name.as_bytes()));
        for command in table {
            assert!(
                command
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b"_-".contains(&b)),
                "{}",
                command.name
            );
            assert_ne!(command.arity, 0, "{}", command.name);
        }
    }

    #[test]
    fn tables_are_sorted_upper_case_and_unique() {
        assert_sorted_upper_case_and_unique(COMMANDS);
        for command in COMMANDS {
            assert_sorted_upper_case_and_unique(command.subcommands);
            // A subcommand's words include the container's name.
            for subcommand in command.subcommands {
                assert!(subcommand.arity.unsigned_abs() >= 2, "{}", subcommand.name);
            }
        }
    }

    #[test]
    fn arities_as_redis_reports_them() {
        let arity = |name: &str| {
            let found = first_starting_with(COMMANDS, name.as_bytes()).unwrap();
            assert_eq!(found.name, name);
            found.arity
        };
        // redis-cli> COMMAND INFO PING TIME HELLO SET GET QUIT CLIENT
        assert_eq!(arity("PING"), -1);
        assert_eq!(arity("TIME"), 1);
        assert_eq!(arity("HELLO"), -1);
        assert_eq!(arity("SET"), -3);
        assert_eq!(arity("GET"), 2);
        assert_eq!(arity("QUIT"), -1);
        assert_eq!(arity("CLIENT"), -2);
        assert_eq!(arity("HSETEX"), -6);
        let client = first_starting_with(COMMANDS, b"client").unwrap();
        let list = first_starting_with(client.subcommands, b"list").unwrap();
        assert_eq!((list.name, list.arity), ("LIST", -2));
        let integer_first: Vec<&str> = COMMANDS
            .iter()
            .filter(|command| command.integer_first)
            .map(|command| command.name)
            .collect();
        assert_eq!(
            integer_first,
            [
                "HELLO",
                "LMPOP",
                "SCAN",
                "SELECT",
                "SINTERCARD",
                "SWAPDB",
                "WAIT",
                "WAITAOF",
                "ZDIFF",
                "ZINTER",
                "ZINTERCARD",
                "ZMPOP",
                "ZUNION"
            ]
        );
    }

    #[test]
    fn arity_counts_the_name() {
        let time = command("TIME", 1);
        assert!(time.takes(1) && !time.takes(2));
        assert_eq!(time.max_words(), 1);
        let set = command("SET", -3);
        assert!(!set.takes(2) && set.takes(3) && set.takes(9));
        assert_eq!(set.max_words(), usize::MAX);
    }

    #[test]
    fn lookup_ignores_case_and_finds_prefixes() {
        let found = |word: &[u8]| first_starting_with(COMMANDS, word).map(|c| c.name);
        assert_eq!(found(b"ping"), Some("PING"));
        assert_eq!(found(b"PiN"), Some("PING"));
        assert_eq!(found(b""), Some("ACL"));
        assert_eq!(found(b"GEORADIUSBYMEMBER_RO"), Some("GEORADIUSBYMEMBER_RO"));
        assert_eq!(found(b"GEORADIUSBYMEMBER_ROX"), None);
        assert_eq!(found(b"PIX"), None);
        assert_eq!(found(b"\xff"), None);
        let memory = first_starting_with(COMMANDS, b"MEMORY").unwrap();
        assert_eq!(
            first_starting_with(memory.subcommands, b"malloc-").map(|c| c.name),
            Some("MALLOC-STATS")
        );
    }
}
