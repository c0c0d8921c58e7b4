//! Secrets taken out of a QEMU command line before anything stores or shows it.
//!
//! A command line can carry credentials: `-object secret,data=…` (libvirt's inline secrets),
//! `password=` of `-spice`/`-iscsi`/TLS objects, a Ceph key in an `rbd:` spec (`:key=…`),
//! `user:pass@` in a URL, and libvirt's environment prefix (`VAR=value`). Collection redacts
//! them once, where argv enters the snapshot, so that no snapshot, report, HTML page or table
//! can hold one. Only the secret value is replaced, by [`REDACTED`]: the option, its key and
//! every other byte stay, so the VM model sees the same options and the rules give the same
//! verdicts.

use crate::snapshot::RawBytes;

/// What a secret value becomes: visible, so a reader knows something was there.
pub const REDACTED: &str = "<redacted>";

/// Keys whose value is a secret wherever they appear (the last dotted component of a key:
/// `file.password`). `passwordid` names a secret object; it is redacted too, as asked for by
/// the security review, because some producers put the password itself there.
const SECRET_KEYS: &[&str] = &["password", "passwordid"];

/// Environment variables that carry no secret and say how QEMU was started.
const PLAIN_ENV: &[&str] = &[
    "LC_ALL",
    "LANG",
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "QEMU_AUDIO_DRV",
    "SDL_AUDIODRIVER",
    "PIPEWIRE_RUNTIME_DIR",
    "TZ",
    "TMPDIR",
];

/// Redact every argument of `argv` in place; the number of arguments changed.
pub fn redact_argv(argv: &mut [RawBytes]) -> usize {
    let mut changed = 0;
    let mut prev_is_object = false;
    for arg in argv.iter_mut() {
        let is_object = prev_is_object;
        let text = String::from_utf8_lossy(&arg.0);
        prev_is_object = matches!(text.as_ref(), "-object" | "--object");
        if let Some(new) = redact_arg(&text, is_object) {
            arg.0 = new.into_bytes();
            changed += 1;
        }
    }
    changed
}

/// `VAR=value` assignments with their values redacted, except for variables known to be plain.
pub fn redact_env(env: &mut [String]) {
    for e in env.iter_mut() {
        if let Some((name, value)) = e.split_once('=') {
            if !value.is_empty() && !PLAIN_ENV.contains(&name) {
                *e = format!("{name}={REDACTED}");
            }
        }
    }
}

/// One argument with its secrets redacted, or `None` when it holds none. `object`: the
/// argument of `-object`, where `data=` is a secret's value.
fn redact_arg(arg: &str, object: bool) -> Option<String> {
    let out = if arg.trim_start().starts_with('{') {
        redact_json(arg, object)
    } else {
        redact_keyval(&redact_inline(arg), object)
    };
    (out != arg).then_some(out)
}

fn is_secret_key(key: &str, object: bool) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    SECRET_KEYS.contains(&last) || (object && last == "data")
}

/// On/off switches (`-vnc …,password=on` asks for a password; it is not one) stay readable.
fn is_switch(v: &str) -> bool {
    matches!(v, "on" | "off" | "true" | "false" | "yes" | "no")
}

/// `key=value,key=value` (commas doubled inside a value): secret keys' values redacted.
fn redact_keyval(arg: &str, object: bool) -> String {
    let mut out = String::with_capacity(arg.len());
    let b = arg.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i <= b.len() {
        if i < b.len() && b[i] == b',' && b.get(i + 1) == Some(&b',') {
            i += 2;
            continue;
        }
        if i == b.len() || b[i] == b',' {
            let part = &arg[start..i];
            match part.split_once('=') {
                Some((k, v)) if is_secret_key(k, object) && !is_switch(v) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(part),
            }
            if i < b.len() {
                out.push(',');
            }
            start = i + 1;
        }
        i += 1;
    }
    out
}

/// A JSON argument: the string values of secret keys, and credentials inside any string,
/// redacted token by token, so that every other byte (key order, spacing) is kept.
fn redact_json(arg: &str, object: bool) -> String {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    let mut secret_value_next = false;
    while let Some(q) = rest.find('"') {
        out.push_str(&rest[..q]);
        let tail = &rest[q..];
        let Some(len) = json_string_len(tail) else {
            out.push_str(tail);
            return out;
        };
        let token = &tail[..len];
        let after = tail[len..].trim_start();
        let is_key = after.starts_with(':');
        let between = &rest[..q];
        // A value directly follows its key's `:`.
        let is_value_of_secret = secret_value_next && between.trim() == ":";
        secret_value_next = false;
        match serde_json::from_str::<String>(token) {
            Ok(s) if is_key => {
                secret_value_next = is_secret_key(&s, object);
                out.push_str(token);
            }
            Ok(s) if is_value_of_secret && !is_switch(&s) => {
                out.push('"');
                out.push_str(REDACTED);
                out.push('"');
            }
            Ok(s) => {
                let r = redact_inline(&s);
                if r == s {
                    out.push_str(token);
                } else {
                    out.push_str(&serde_json::to_string(&r).unwrap_or_else(|_| token.into()));
                }
            }
            Err(_) => out.push_str(token),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// Length in bytes of the JSON string token at the start of `s` (which starts with `"`).
fn json_string_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Credentials embedded in a value: URL userinfo (`scheme://user:pass@`, iSCSI's
/// `iscsi://user%pass@`) and a Ceph key in an rbd spec (`rbd:pool/img:id=x:key=SECRET:…`).
fn redact_inline(s: &str) -> String {
    redact_rbd_key(&redact_userinfo(s))
}

fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
            .map_or(0, |i| i + 1);
        let scheme = &rest[scheme_start..at];
        let auth_start = at + 3;
        out.push_str(&rest[..auth_start]);
        let auth_len = rest[auth_start..]
            .find(['/', '?', '#', ',', '"', ' ', '\''])
            .unwrap_or(rest.len() - auth_start);
        let authority = &rest[auth_start..auth_start + auth_len];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                let userinfo = &authority[..userinfo_end];
                let sep = userinfo.find(':').or_else(|| {
                    scheme
                        .eq_ignore_ascii_case("iscsi")
                        .then(|| userinfo.find('%'))
                        .flatten()
                });
                match sep {
                    Some(p) => {
                        out.push_str(&userinfo[..=p]);
                        out.push_str(REDACTED);
                        out.push_str(&authority[userinfo_end..]);
                    }
                    None => out.push_str(authority),
                }
            }
            None => out.push_str(authority),
        }
        rest = &rest[auth_start + auth_len..];
    }
    out.push_str(rest);
    out
}

/// `:key=VALUE` inside an `rbd:` spec, up to the next unescaped `:` or `,` (the end of the
/// option value).
fn redact_rbd_key(s: &str) -> String {
    if !s.contains("rbd:") || !s.contains(":key=") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find(":key=") {
        let v = k + ":key=".len();
        out.push_str(&rest[..v]);
        let b = rest.as_bytes();
        let mut end = v;
        while end < b.len() && !matches!(b[end], b':' | b',' | b'"' | b' ') {
            end += if b[end] == b'\\' { 2 } else { 1 };
        }
        let end = end.min(b.len());
        if end > v {
            out.push_str(REDACTED);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Vec<RawBytes> {
        args.iter().map(|a| RawBytes::from(*a)).collect()
    }

    fn texts(v: &[RawBytes]) -> Vec<String> {
        v.iter().map(RawBytes::to_string_lossy).collect()
    }

    #[test]
    fn secrets_are_replaced_and_the_rest_is_kept() {
        let mut a = argv(&[
            "qemu-system-x86_64",
            "-object",
            "secret,id=sec0,data=c2VjcmV0,,x,format=base64",
            "-object",
            r#"{"qom-type":"secret","id":"sec1","data":"9eao5F8qtkGt","format":"base64"}"#,
            "-drive",
            "file=rbd:pool/img:id=admin:key=AQBabc==:auth_supported=cephx\\;none,format=raw,if=none",
            "-blockdev",
            r#"{"driver":"rbd","filename":"rbd:p/i:key=AQBx:conf=/etc/ceph.conf","node-name":"n"}"#,
            "-drive",
            "file=https://alice:s3cret@example.com/disk.img,format=raw",
            "-drive",
            "file=iscsi://bob%hunter2@10.0.0.1/iqn.2001-04.com.example/1",
            "-iscsi",
            "user=bob,password=hunter2",
            "-spice",
            "port=5900,password=spicepw,addr=0.0.0.0",
            "-vnc",
            ":1,password=on",
            "-object",
            "tls-creds-x509,id=t0,dir=/etc/pki,passwordid=pw0",
            "-name",
            "guest=data=keep,debug-threads=on",
        ]);
        let n = redact_argv(&mut a);
        let t = texts(&a);
        assert_eq!(t[2], "secret,id=sec0,data=<redacted>,format=base64");
        assert_eq!(
            t[4],
            r#"{"qom-type":"secret","id":"sec1","data":"<redacted>","format":"base64"}"#
        );
        assert_eq!(
            t[6],
            "file=rbd:pool/img:id=admin:key=<redacted>:auth_supported=cephx\\;none,format=raw,if=none"
        );
        assert_eq!(
            t[8],
            r#"{"driver":"rbd","filename":"rbd:p/i:key=<redacted>:conf=/etc/ceph.conf","node-name":"n"}"#
        );
        assert_eq!(
            t[10],
            "file=https://alice:<redacted>@example.com/disk.img,format=raw"
        );
        assert_eq!(
            t[12],
            "file=iscsi://bob%<redacted>@10.0.0.1/iqn.2001-04.com.example/1"
        );
        assert_eq!(t[14], "user=bob,password=<redacted>");
        assert_eq!(t[16], "port=5900,password=<redacted>,addr=0.0.0.0");
        assert_eq!(t[18], ":1,password=on");
        assert_eq!(
            t[20],
            "tls-creds-x509,id=t0,dir=/etc/pki,passwordid=<redacted>"
        );
        // `data=` is a secret only in -object.
        assert_eq!(t[22], "guest=data=keep,debug-threads=on");
        assert_eq!(n, 9);
        let joined = t.join(" ");
        for secret in [
            "c2VjcmV0", "9eao5F8", "AQBabc", "AQBx", "s3cret", "hunter2", "spicepw",
        ] {
            assert!(!joined.contains(secret), "{secret} left in {joined}");
        }
    }

    #[test]
    fn plain_command_lines_are_untouched() {
        let orig = argv(&[
            "qemu-system-x86_64",
            "-object",
            r#"{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/master-key.aes"}"#,
            "-blockdev",
            r#"{"driver":"file","filename":"/var/lib/a b.qcow2","node-name":"x","password-secret":"s1"}"#,
            "-netdev",
            "tap,fd=20,vhost=on,id=net0",
            "-append",
            "console=ttyS0 key=value",
            "-drive",
            "file=http://example.com/x.img",
        ]);
        let mut a = orig.clone();
        assert_eq!(redact_argv(&mut a), 0);
        assert_eq!(a, orig);
    }

    #[test]
    fn environment_values_are_redacted_unless_known_plain() {
        let mut env = vec![
            "LC_ALL=C".to_string(),
            "PATH=/usr/bin".to_string(),
            "CEPH_ARGS=--key=AQB".to_string(),
            "EMPTY=".to_string(),
        ];
        redact_env(&mut env);
        assert_eq!(
            env,
            [
                "LC_ALL=C",
                "PATH=/usr/bin",
                "CEPH_ARGS=<redacted>",
                "EMPTY="
            ]
        );
    }

    proptest::proptest! {
        /// Redaction never panics and, when it changes nothing, keeps every byte.
        #[test]
        fn redaction_is_total(arg in "[a-z:/@%=,.\"{}\\\\ ]{0,40}", obj in proptest::bool::ANY) {
            let _ = redact_arg(&arg, obj);
        }
    }
}
