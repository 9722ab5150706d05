/**
 * The PostgreSQL and Redis servers the adapter tests run against. They are
 * started on the developers' machines and before CI (127.0.0.1:5432, trust
 * auth, database `test`; 127.0.0.1:6379). Under CI=true an unreachable
 * server is a failure; elsewhere the tests skip and say why.
 */
import { connect } from 'node:net';

export const POSTGRES_URL = process.env.TWOFOLD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TWOFOLD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** MariaDB (or MySQL) for the MySQL adapter: 127.0.0.1:3306, user root without password, database `test`. */
export const MYSQL_URL = process.env.TWOFOLD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort), timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function skipReason(name: string, url: string, defaultPort: number, start: string): Promise<string | null> {
  if (await reachable(url, defaultPort)) return null;
  const reason = `${name} is not reachable at ${new URL(url).host} (start it with: ${start})`;
  if (process.env.CI === 'true') throw new Error(`CI=true: the ${name} tests must run, but ${reason}`);
  console.warn(`skipping ${name} tests: ${reason}`);
  return reason;
}

/** Null when PostgreSQL answers; a printed reason to skip otherwise; throws under CI. */
export function postgresSkipReason(): Promise<string | null> {
  return skipReason('PostgreSQL', POSTGRES_URL, 5432, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
}

/** Null when Redis answers; a printed reason to skip otherwise; throws under CI. */
export function redisSkipReason(): Promise<string | null> {
  return skipReason(
    'Redis',
    REDIS_URL,
    6379,
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  );
}

/** Null when MariaDB (or MySQL) answers; a printed reason to skip otherwise; throws under CI. */
export function mysqlSkipReason(): Promise<string | null> {
  return skipReason('MariaDB', MYSQL_URL, 3306, 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd');
}
