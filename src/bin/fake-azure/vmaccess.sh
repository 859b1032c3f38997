# The fake's VMAccessForLinux (handler 1.5) on a Debian guest, run as root by the guest agent
# with its protected settings assigned above this line. It does what the extension's enable
# does, in its order: refuse remove_user with reset_ssh or password; reset_ssh writes the
# extension's template over sshd_config (Port 22, no Include) and opens port 22; remove_user;
# username with password and/or ssh_key (creating the account with sudo rights if missing);
# restart sshd when the config or a password changed.
# shellcheck shell=sh disable=SC2154 # the settings are assigned by the caller
fail() {
  printf '%s\n' "$*" >&2
  exit 1
}
if [ -n "$remove_user" ] && { [ -n "$reset_ssh" ] || [ -n "$password" ]; }; then
  fail "(03002)Argument error, conflicting operations"
fi
if [ -n "$reset_ssh" ]; then
  cat >/etc/ssh/sshd_config <<'EOF' || fail "(03001)Failed to reset sshd_config"
Port 22
HostKey /etc/ssh/ssh_host_rsa_key
HostKey /etc/ssh/ssh_host_ecdsa_key
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
ClientAliveInterval 120
EOF
  iptables -I INPUT -p tcp --dport 22 -j ACCEPT 2>/dev/null || true
fi
if [ -n "$remove_user" ]; then
  userdel -f -r "$remove_user" 2>/dev/null || fail "(03003)Failed to remove user $remove_user"
fi
if [ -n "$username" ]; then
  if ! id "$username" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$username" || fail "(03004)Failed to create user $username"
    printf '%s ALL=(ALL) ALL\n' "$username" >>/etc/sudoers.d/waagent
    chmod 0440 /etc/sudoers.d/waagent
  fi
  if [ -n "$password" ]; then
    printf '%s:%s\n' "$username" "$password" | chpasswd || fail "(03005)Failed to set the password"
    chage -d "$(date +%Y-%m-%d)" -E -1 "$username"
  fi
  if [ -n "$ssh_key" ]; then
    home=/home/$username
    if ! { mkdir -p "$home/.ssh" &&
      printf '%s\n' "$ssh_key" >>"$home/.ssh/authorized_keys" &&
      chown -R "$username:" "$home/.ssh" &&
      chmod 700 "$home/.ssh" && chmod 600 "$home/.ssh/authorized_keys"; }; then
      fail "(03006)Failed to set the SSH key"
    fi
  fi
fi
if [ -n "$reset_ssh" ] || [ -n "$password" ]; then
  systemctl restart ssh || fail "(03007)Failed to restart sshd"
fi
printf 'Succeeded\n'
