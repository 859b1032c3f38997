//! Acting in directories a user controls (the guest side is `confine.sh`): root never reads,
//! writes or changes a path by a name someone else can swap for a link; it acts as that user,
//! with the kernel checking their rights, or changes an owner with `chown -h` under the
//! kernel's hard-link protection.

pub(super) const SCRIPT: &str = include_str!("confine.sh");

#[cfg(test)]
mod tests {
    use crate::remedy::plan::run_locally;

    /// A uid that is nobody's on this machine: the user who owns the raced directory.
    const RACER: u32 = 4242;

    fn as_root() {
        assert!(
            rustix::process::geteuid().is_root(),
            "these tests make files for another uid and race as that uid: run them as root"
        );
    }

    /// Rounds of the local race; `LIFELINE_RACE_TRIES` raises it for a longer soak.
    fn rounds() -> u32 {
        std::env::var("LIFELINE_RACE_TRIES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400)
    }

    fn run(body: &str) -> String {
        let (dir, out) = run_locally(&[], body);
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn the_controller_of_a_path_is_the_first_owner_on_the_way_who_is_not_root() {
        as_root();
        let out = run(&format!(
            "mkdir -p \"$T/root/user/sub\" \"$T/open\" \"$T/sticky/r\" \"$T/sticky/u\"\n\
             chown {RACER} \"$T/root/user\" \"$T/sticky/u\"\n\
             chmod 0777 \"$T/open\"; chmod 1777 \"$T/sticky\"\n\
             ln -s root/user \"$T/link\"; ln -s \"$T/root/user/sub/../../..\" \"$T/up\"\n\
             for d in root root/user/sub open open/x sticky sticky/r sticky/u link link/sub up/root missing/x; do\n\
                 printf '%s %s\\n' \"$d\" \"$(ll_controller \"$T/$d\")\"\n\
             done"
        ));
        assert_eq!(
            out,
            format!(
                "root 0\nroot/user/sub {RACER}\nopen -\nopen/x -\nsticky -\nsticky/r 0\n\
                 sticky/u {RACER}\nlink {RACER}\nlink/sub {RACER}\nup/root {RACER}\nmissing/x 0\n"
            )
        );
    }

    #[test]
    fn a_user_racing_root_in_their_own_directory_never_reaches_roots_files() {
        as_root();
        // The racer turns every temporary file into a link to the victim, and the target and
        // a file root changes the mode and owner of into such links, as fast as it can.
        let rounds = rounds();
        let out = run(&format!(
            "printf 'victim\\n' >\"$T/victim\"; chmod 0600 \"$T/victim\"\n\
             mkdir -p \"$T/home/.ssh\"; chown -R {RACER}:{RACER} \"$T/home\"\n\
             printf a >\"$T/a\"; printf b >\"$T/b\"\n\
             setpriv --reuid={RACER} --regid={RACER} --clear-groups -- sh -c '\n\
                 cd \"$1/home/.ssh\" || exit 1\n\
                 while [ ! -e \"$1/stop\" ]; do\n\
                     for f in .lifeline.*; do [ -f \"$f\" ] && rm -f \"$f\" && ln -s \"$1/victim\" \"$f\"; done\n\
                     ln -sfn \"$1/victim\" k.new && mv -f k.new keys; rm -f keys\n\
                     ln -sfn \"$1/victim\" f.new && mv -f f.new f; rm -f f; : >f\n\
                 done' sh \"$T\" </dev/null >/dev/null 2>&1 &\n\
             i=0 put=0 set=0 own=0\n\
             while [ $i -lt {rounds} ]; do\n\
                 LL_SDIR=$LL_RUN/s$i; mkdir \"$LL_SDIR\"\n\
                 if [ $((i % 2)) = 0 ]; then w=a; else w=b; fi\n\
                 ! ll_put \"$T/home/.ssh/keys\" 0600 {RACER}:{RACER} <\"$T/$w\" >/dev/null 2>&1 || put=$((put + 1))\n\
                 ! ll_set \"$T/home/.ssh/f\" mode 644 >/dev/null 2>&1 || set=$((set + 1))\n\
                 chown -h 0 \"$T/home/.ssh/f\" 2>/dev/null\n\
                 ! ll_set \"$T/home/.ssh/f\" owner {RACER} >/dev/null 2>&1 || own=$((own + 1))\n\
                 rm -rf \"$LL_SDIR\"\n\
                 i=$((i + 1))\n\
             done\n\
             touch \"$T/stop\"; wait\n\
             stat -c '%u %a' \"$T/victim\"; cat \"$T/victim\"\n\
             [ $put -gt $((i / 10)) ] && [ $set -gt $((i / 10)) ] && [ $own -gt $((i / 10)) ] && echo raced || echo \"only $put writes, $set modes and $own owners\""
        ));
        assert_eq!(out, "0 600\nvictim\nraced\n");
    }

    #[test]
    fn a_file_written_in_a_users_directory_is_written_as_that_user() {
        as_root();
        let out = run(&format!(
            "mkdir -p \"$T/home\"; chown {RACER} \"$T/home\"; ll_backup_dir >/dev/null\n\
             printf 'new\\n' >\"$T/new\"\n\
             ll_put \"$T/home/f\" 0640 0:0 <\"$T/new\" | cut -f 2,4\n\
             stat -c '%u %a' \"$T/home/f\"; cat \"$T/home/f\"\n\
             ll_mkdir \"$T/home/d\" 0700 0:0 || echo \"$LL_STEP_ERR\" | sed \"s|$T|T|\"\n\
             ll_mkdir \"$T/home/d\" 0700 {RACER} | cut -f 2\n\
             stat -c '%u %a' \"$T/home/d\""
        ));
        assert_eq!(
            out,
            format!(
                "changed\tcreated\n{RACER} 640\nnew\n\
                 T/home is controlled by uid {RACER}: lifeline creates nothing there for 0:0\n\
                 changed\n{RACER} 700\n"
            )
        );
    }

    /// A key file in the user's directory that another uid owns, 0600: the user cannot read
    /// it, so its backup for an owner or mode change holds no content; a later content change
    /// records it in full, and undo puts the mode back (the file stays the user's).
    #[test]
    fn a_file_its_user_cannot_read_is_given_back_to_them_and_undone_by_its_mode() {
        as_root();
        let out = run(&format!(
            "mkdir \"$T/home\"; chown {RACER}:{RACER} \"$T/home\"; cd \"$T/home\"\n\
             printf 'key\\n' >k; chown 4343 k; chmod 600 k\n\
             ll_set \"$T/home/k\" owner {RACER} && ll_set \"$T/home/k\" mode 644 && echo \"k $(stat -c '%u %a' k) $(cat k)\"\n\
             ll_backup \"$T/home/k\" && ll_backup_meta \"$T/home/k\" && grep -v '^lifeline-backup\\|^operation\\|^created' \"$LL_BDIR/manifest\" | cut -f1,3,4\n\
             printf 'changed\\n' >k\n\
             ll_restore_all \"$LL_BDIR\" restored | cut -f2,4\n\
             echo \"k $(stat -c '%u %a' k) $(cat k)\""
        ));
        assert_eq!(
            out.lines()
                .filter(|l| !l.starts_with("ll\t"))
                .collect::<Vec<_>>()
                .join("\n"),
            format!(
                "k {RACER} 644 key\nmeta\t600\t4343\nfile\t644\t{RACER}\n\
                 restored\tcontent, owner, mode and label as recorded\n\
                 restored\towner, mode and label as recorded\nk {RACER} 600 key"
            ),
            "{out}"
        );
    }

    #[test]
    fn root_acts_as_the_user_who_controls_a_directory_and_gives_nothing_away() {
        as_root();
        let out = run(&format!(
            "mkdir \"$T/home\"; chown {RACER}:{RACER} \"$T/home\"\n\
             printf 'mine\\n' >\"$T/home/f\"; chown {RACER} \"$T/home/f\"; chmod 600 \"$T/home/f\"\n\
             printf 'roots\\n' >\"$T/home/r\"; chmod 600 \"$T/home/r\"\n\
             echo \"as $(ll_as {RACER} id -u)\"; ll_as - true || echo \"refused: $LL_STEP_ERR\"\n\
             ll_read {RACER} \"$T/home/f\"; ll_read {RACER} \"$T/home/r\" || echo \"unreadable: $(ll_as_err)\" | sed \"s#$T#T#\"\n\
             printf 'placed\\n' >\"$T/src\"; ll_place_as {RACER} \"$T/home/g\" 0640 <\"$T/src\"\n\
             echo \"g $(stat -c '%a %u' \"$T/home/g\") $(cat \"$T/home/g\")\"\n\
             ll_place_as {RACER} \"$T/none/g\" 0640 <\"$T/src\" || echo 'no place outside'\n\
             ll_set_mode \"$T/home/f\" 644; echo \"f $(stat -c %a \"$T/home/f\")\"\n\
             ll_set_mode \"$T/home/r\" 666 || echo \"r $(stat -c %a \"$T/home/r\"): ${{LL_STEP_ERR%%(*}}\" | sed \"s#$T#T#\"\n\
             ll_set_owner \"$T/home/g\" 0 || echo \"g stays $(stat -c %u \"$T/home/g\"): $LL_STEP_ERR\" | sed \"s#$T#T#\"\n\
             : >\"$T/own\"; ll_set_owner \"$T/own\" {RACER}:{RACER} && echo \"own $(stat -c %u:%g \"$T/own\")\""
        ));
        assert_eq!(
            out,
            format!(
                "as {RACER}\nrefused: a directory on the way is writable by others: lifeline changes nothing there\n\
                 mine\nunreadable: cat: T/home/r: Permission denied \n\
                 g 640 {RACER} placed\nno place outside\nf 644\n\
                 r 600: T/home/r is not owned by uid {RACER}, who controls its directory: lifeline does not change its mode as root \n\
                 g stays {RACER}: T/home/g is in a directory uid {RACER} controls: lifeline gives it to nobody else\n\
                 own {RACER}:{RACER}\n"
            )
        );
    }
}
