/* Fault injection below the process: an LD_PRELOAD library that counts a process's writes,
 * fsyncs and renames of files under one folder, and makes the N-th fail or stops the process
 * right after it (hive-faults, docs/fuzzing.md). Only the process that loaded it first counts;
 * the programs it starts do not (they see HIVE_FAULT_PID set to another process).
 *
 *   HIVE_FAULT_UNDER  absolute folder: only calls on files below it count
 *   HIVE_FAULT_AT     the call (from 1) that gets the fault; absent or 0: count only
 *   HIVE_FAULT_KIND   eio | enospc | short (half the bytes written, then ENOSPC; EIO for an
 *                     fsync or a rename) | stop (the call done, then SIGKILL)
 *   HIVE_FAULT_LOG    a file each counted call is appended to: `N op path` */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char under[PATH_MAX];
static size_t under_length;
static long at, count;
static const char *kind = "eio";
static const char *log_path;
static int ours;

__attribute__((constructor)) static void start(void)
{
	const char *folder = getenv("HIVE_FAULT_UNDER"), *pid = getenv("HIVE_FAULT_PID");
	char self[32];

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	if (pid && strcmp(pid, self) != 0)
		return;
	setenv("HIVE_FAULT_PID", self, 1);
	if (!folder || strlen(folder) >= sizeof(under))
		return;
	strcpy(under, folder);
	under_length = strlen(under);
	at = getenv("HIVE_FAULT_AT") ? atol(getenv("HIVE_FAULT_AT")) : 0;
	if (getenv("HIVE_FAULT_KIND"))
		kind = getenv("HIVE_FAULT_KIND");
	log_path = getenv("HIVE_FAULT_LOG");
	ours = 1;
}

static int below(const char *path)
{
	return strncmp(path, under, under_length) == 0
	       && (path[under_length] == '/' || path[under_length] == 0);
}

static int fd_below(int fd, char *path)
{
	char link[64];
	ssize_t n;
	struct stat st;

	if (!ours || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, PATH_MAX - 1);
	if (n < 0)
		return 0;
	path[n] = 0;
	return below(path);
}

static int path_below(int dirfd, const char *name, char *path)
{
	char base[PATH_MAX], link[64];
	ssize_t n;

	if (!ours)
		return 0;
	if (name[0] == '/') {
		snprintf(path, PATH_MAX, "%s", name);
	} else {
		if (dirfd == AT_FDCWD) {
			if (!getcwd(base, sizeof(base)))
				return 0;
		} else {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			n = readlink(link, base, sizeof(base) - 1);
			if (n < 0)
				return 0;
			base[n] = 0;
		}
		snprintf(path, PATH_MAX, "%s/%s", base, name);
	}
	return below(path);
}

/* What to do with this counted call: 0 go on, 1 fail it, 2 stop after it. */
static int counted(const char *op, const char *path)
{
	count++;
	if (log_path) {
		FILE *log = fopen(log_path, "a");
		if (log) {
			fprintf(log, "%ld %s %s\n", count, op, path);
			fclose(log);
		}
	}
	if (count != at)
		return 0;
	return strcmp(kind, "stop") == 0 ? 2 : 1;
}

static void stop(void)
{
	kill(getpid(), SIGKILL);
	_exit(137);
}

static int failing_errno(int is_write)
{
	if (strcmp(kind, "enospc") == 0 || (is_write && strcmp(kind, "short") == 0))
		return ENOSPC;
	return EIO;
}

#define NEXT(name) static __typeof__(name) *next_##name; \
	if (!next_##name) next_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buffer, size_t size)
{
	char path[PATH_MAX];
	ssize_t done;
	int what;

	NEXT(write);
	if (!fd_below(fd, path))
		return next_write(fd, buffer, size);
	what = counted("write", path);
	if (what == 1) {
		if (strcmp(kind, "short") == 0 && size > 1)
			next_write(fd, buffer, size / 2);
		errno = failing_errno(1);
		return -1;
	}
	done = next_write(fd, buffer, size);
	if (what == 2)
		stop();
	return done;
}

ssize_t pwrite64(int fd, const void *buffer, size_t size, off_t offset)
{
	char path[PATH_MAX];
	ssize_t done;
	int what;

	NEXT(pwrite64);
	if (!fd_below(fd, path))
		return next_pwrite64(fd, buffer, size, offset);
	what = counted("write", path);
	if (what == 1) {
		if (strcmp(kind, "short") == 0 && size > 1)
			next_pwrite64(fd, buffer, size / 2, offset);
		errno = failing_errno(1);
		return -1;
	}
	done = next_pwrite64(fd, buffer, size, offset);
	if (what == 2)
		stop();
	return done;
}

ssize_t pwrite(int fd, const void *buffer, size_t size, off_t offset)
{
	return pwrite64(fd, buffer, size, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int count_of)
{
	char path[PATH_MAX];
	ssize_t done;
	int what;

	NEXT(writev);
	if (!fd_below(fd, path))
		return next_writev(fd, iov, count_of);
	what = counted("write", path);
	if (what == 1) {
		if (strcmp(kind, "short") == 0 && count_of > 0 && iov[0].iov_len > 1)
			next_writev(fd, iov, 1);
		errno = failing_errno(1);
		return -1;
	}
	done = next_writev(fd, iov, count_of);
	if (what == 2)
		stop();
	return done;
}

#define SYNC(name)                                                                         \
	int name(int fd)                                                                   \
	{                                                                                  \
		char path[PATH_MAX];                                                       \
		int what, done;                                                            \
		NEXT(name);                                                                \
		if (!fd_below(fd, path))                                                   \
			return next_##name(fd);                                            \
		what = counted(#name, path);                                               \
		if (what == 1) {                                                           \
			errno = failing_errno(0);                                          \
			return -1;                                                         \
		}                                                                          \
		done = next_##name(fd);                                                    \
		if (what == 2)                                                             \
			stop();                                                            \
		return done;                                                               \
	}

SYNC(fsync)
SYNC(fdatasync)

static int renamed(int counted_as, int done)
{
	if (counted_as == 2)
		stop();
	return done;
}

int renameat2(int from_dir, const char *from, int to_dir, const char *to, unsigned flags)
{
	char path[PATH_MAX], other[PATH_MAX];
	int what;

	NEXT(renameat2);
	if (!path_below(to_dir, to, path) && !path_below(from_dir, from, other))
		return next_renameat2(from_dir, from, to_dir, to, flags);
	what = counted("rename", path);
	if (what == 1) {
		errno = failing_errno(0);
		return -1;
	}
	return renamed(what, next_renameat2(from_dir, from, to_dir, to, flags));
}

int renameat(int from_dir, const char *from, int to_dir, const char *to)
{
	char path[PATH_MAX], other[PATH_MAX];
	int what;

	NEXT(renameat);
	if (!path_below(to_dir, to, path) && !path_below(from_dir, from, other))
		return next_renameat(from_dir, from, to_dir, to);
	what = counted("rename", path);
	if (what == 1) {
		errno = failing_errno(0);
		return -1;
	}
	return renamed(what, next_renameat(from_dir, from, to_dir, to));
}

int rename(const char *from, const char *to)
{
	char path[PATH_MAX], other[PATH_MAX];
	int what;

	NEXT(rename);
	if (!path_below(AT_FDCWD, to, path) && !path_below(AT_FDCWD, from, other))
		return next_rename(from, to);
	what = counted("rename", path);
	if (what == 1) {
		errno = failing_errno(0);
		return -1;
	}
	return renamed(what, next_rename(from, to));
}

/* Rust's std::fs::copy calls copy_file_range through syscall(2): a write, counted. */
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long number, ...)
{
	char path[PATH_MAX];
	long a[6], done;
	va_list args;
	int what;

	NEXT(syscall);
	va_start(args, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(args, long);
	va_end(args);
	if (number != SYS_copy_file_range || !fd_below((int)a[2], path))
		return next_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	what = counted("write", path);
	if (what == 1) {
		errno = failing_errno(1);
		return -1;
	}
	done = next_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (what == 2)
		stop();
	return done;
}
