#!/usr/bin/env bash
# Makes sure the real servers the tests use are up: Mosquitto on 127.0.0.1:1883 and MariaDB on
# 127.0.0.1:3306 (root, empty password, database `test`). Installs them from Debian where missing.
set -euo pipefail
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 60); do up "$1" && return 0; sleep 1; done; echo "servers: port $1 still closed" >&2; return 1; }
apt_updated=
need_pkg() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

if ! up 1883; then
  need_pkg mosquitto mosquitto
  echo "servers: starting mosquitto" >&2
  mosquitto -d -c /etc/mosquitto/mosquitto.conf 2>/dev/null || mosquitto -d
  wait_up 1883
fi
if ! up 3306; then
  need_pkg mariadbd mariadb-server
  echo "servers: starting mariadb" >&2
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
  start-stop-daemon --start --oknodo --background --exec "$(command -v mariadbd)" -- --user=mysql
  wait_up 3306
fi
# A fresh install has no `test` database and may want a socket login for root.
mariadb -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS test" 2>/dev/null ||
  mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS test; ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket;" 
