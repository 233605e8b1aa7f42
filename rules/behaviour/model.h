/*
 * Models for the behaviour engine (patchlint/behaviour), written in C.
 *
 * The engine reads this file after the file under analysis and before the kernel
 * headers: its typedefs name the fixed-width kernel types without a tree, its
 * macros stand for kernel macros whose real definitions are compiler plumbing
 * (type checks, __builtin_*), and its functions are interpreted like static
 * helpers, so a patch that replaces a loop by memcpy() or a ternary by min()
 * is compared on meaning, not on spelling.
 *
 * Only what is written here is modelled.  A macro or function not defined here,
 * in the file or in a header the file includes is an uninterpreted call: the same
 * callee with the same arguments behaves the same in both versions.
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;
typedef u8 __u8;
typedef u16 __u16;
typedef u32 __u32;
typedef u64 __u64;
typedef s8 __s8;
typedef s16 __s16;
typedef s32 __s32;
typedef s64 __s64;
typedef u16 __le16;
typedef u16 __be16;
typedef u32 __le32;
typedef u32 __be32;
typedef u64 __le64;
typedef u64 __be64;
typedef unsigned int gfp_t;
typedef int pid_t;
typedef long long loff_t;
typedef unsigned long sector_t;
typedef unsigned int fmode_t;
typedef unsigned short umode_t;
typedef u64 dma_addr_t;
typedef u64 phys_addr_t;
typedef long __kernel_long_t;
typedef unsigned long __kernel_ulong_t;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef unsigned short ushort;
typedef unsigned char uchar;

#define NULL ((void *)0)
#define true 1
#define false 0

/* Branch hints and access annotations: the value of the expression. */
#define likely(x) (x)
#define unlikely(x) (x)
#define READ_ONCE(x) (x)
#define WRITE_ONCE(x, val) ((x) = (val))
#define data_race(expr) (expr)
#define __builtin_expect(x, expected) (x)
#define smp_load_acquire(p) (*(p))
#define smp_store_release(p, v) (*(p) = (v))

/* RCU accessors: the value of the pointer (ordering is not modelled). */
#define rcu_dereference(p) (p)
#define rcu_dereference_check(p, c) (p)
#define rcu_dereference_protected(p, c) (p)
#define rcu_dereference_raw(p) (p)
#define rcu_access_pointer(p) (p)
#define rcu_assign_pointer(p, v) ((p) = (v))
#define RCU_INIT_POINTER(p, v) ((p) = (v))

/*
 * The lock calls that also save the interrupt state into their second argument:
 * the flags are the result of the call (as in the kernel's raw_spin_lock_irqsave).
 * Inside its own expansion a macro's name is an ordinary call, so the event is
 * still "spin_lock_irqsave(lock)".
 */
#define spin_lock_irqsave(lock, flags) ((flags) = spin_lock_irqsave(lock))
#define spin_lock_irqsave_nested(lock, flags, subclass) ((flags) = spin_lock_irqsave_nested(lock, subclass))
#define raw_spin_lock_irqsave(lock, flags) ((flags) = raw_spin_lock_irqsave(lock))
#define read_lock_irqsave(lock, flags) ((flags) = read_lock_irqsave(lock))
#define write_lock_irqsave(lock, flags) ((flags) = write_lock_irqsave(lock))
#define local_irq_save(flags) ((flags) = local_irq_save())
#define xa_lock_irqsave(xa, flags) ((flags) = xa_lock_irqsave(xa))

/* The running task is a global input of the function. */
extern struct task_struct *current;

/* Warnings print a backtrace (an output event) and return their condition. */
#define WARN_ON(condition) __patchlint_warn_on(!!(condition))
#define WARN_ON_ONCE(condition) __patchlint_warn_on(!!(condition))
#define WARN(condition, ...) __patchlint_warn_on(!!(condition))
#define WARN_ONCE(condition, ...) __patchlint_warn_on(!!(condition))
#define BUG_ON(condition) do { if (condition) BUG(); } while (0)

static inline int __patchlint_warn_on(int condition)
{
	if (condition)
		__WARN();
	return condition;
}

/* The kernel's min()/max() add type checks that do not change the value. */
#define min(x, y) ((x) < (y) ? (x) : (y))
#define max(x, y) ((x) > (y) ? (x) : (y))
#define min_t(type, x, y) ((type)(x) < (type)(y) ? (type)(x) : (type)(y))
#define max_t(type, x, y) ((type)(x) > (type)(y) ? (type)(x) : (type)(y))
#define clamp(val, lo, hi) min(max(val, lo), hi)
#define clamp_t(type, val, lo, hi) min_t(type, max_t(type, val, lo), hi)
#define clamp_val(val, lo, hi) clamp_t(typeof(val), val, lo, hi)
#define umin(x, y) min((x) + 0u + 0ul + 0ull, (y) + 0u + 0ul + 0ull)
#define umax(x, y) max((x) + 0u + 0ul + 0ull, (y) + 0u + 0ul + 0ull)
#define abs(x) ((x) < 0 ? -(x) : (x))
#define swap(a, b) do { typeof(a) __tmp = (a); (a) = (b); (b) = __tmp; } while (0)

#define BIT(nr) (1UL << (nr))
#define BIT_ULL(nr) (1ULL << (nr))
#define GENMASK(h, l) (((~0UL) - (1UL << (l)) + 1) & (~0UL >> (64 - 1 - (h))))
#define GENMASK_ULL(h, l) (((~0ULL) - (1ULL << (l)) + 1) & (~0ULL >> (64 - 1 - (h))))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define ALIGN(x, a) (((x) + ((a) - 1)) & ~((typeof(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((typeof(x))(a) - 1)) == 0)
#define round_up(x, y) ((((x) - 1) | ((typeof(x))((y) - 1))) + 1)
#define round_down(x, y) ((x) & ~((typeof(x))((y) - 1)))
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof((arr)[0]))
#define lower_32_bits(n) ((u32)((n) & 0xffffffff))
#define upper_32_bits(n) ((u32)(((n) >> 16) >> 16))

/* Error pointers (include/linux/err.h): the top page of the address space. */
#define MAX_ERRNO 4095
#define IS_ERR_VALUE(x) ((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE((unsigned long)ptr);
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR_VALUE((unsigned long)ptr);
}

static inline void *ERR_CAST(const void *ptr)
{
	return (void *)ptr;
}

static inline int PTR_ERR_OR_ZERO(const void *ptr)
{
	if (IS_ERR(ptr))
		return PTR_ERR(ptr);
	else
		return 0;
}

/* String and memory functions of the C library and of lib/string.c. */
static inline size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static inline size_t strnlen(const char *s, size_t count)
{
	size_t n = 0;

	while (n < count && s[n])
		n++;
	return n;
}

static inline int strcmp(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	return (unsigned char)a[i] - (unsigned char)b[i];
}

static inline int strncmp(const char *a, const char *b, size_t n)
{
	size_t i = 0;

	if (!n)
		return 0;
	while (i + 1 < n && a[i] && a[i] == b[i])
		i++;
	return (unsigned char)a[i] - (unsigned char)b[i];
}

static inline char *strcpy(char *dst, const char *src)
{
	size_t i = 0;

	while ((dst[i] = src[i]) != 0)
		i++;
	return dst;
}

static inline void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = c;
	return s;
}

static inline void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = s[i];
	return dst;
}

static inline int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

static inline int isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int isspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline int isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int toupper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static inline int tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static inline int hweight32(unsigned int w)
{
	int n = 0;
	int i;

	for (i = 0; i < 32; i++)
		n += (w >> i) & 1;
	return n;
}

/* A CPU's copy of a per-CPU variable: the same CPU and variable, the same copy. */
#define per_cpu(var, cpu) (*per_cpu_ptr(&(var), cpu))

/*
 * Byte order (x86-64 is little endian): conversions to and from little endian are the
 * value itself, to and from big endian a byte swap.  The kernel's versions go through
 * __builtin_bswap*() and sparse's __force casts, which do not change the value.
 */
#define __swab16(x) ((__u16)((((__u16)(x) & 0x00ffU) << 8) | (((__u16)(x) & 0xff00U) >> 8)))
#define __swab32(x) ((__u32)((((__u32)(x) & 0x000000ffUL) << 24) | (((__u32)(x) & 0x0000ff00UL) << 8) | \
	(((__u32)(x) & 0x00ff0000UL) >> 8) | (((__u32)(x) & 0xff000000UL) >> 24)))
#define __swab64(x) ((__u64)(((__u64)__swab32((__u32)(x)) << 32) | (__u64)__swab32((__u32)((__u64)(x) >> 32))))
#define swab16(x) __swab16(x)
#define swab32(x) __swab32(x)
#define swab64(x) __swab64(x)
#define __builtin_bswap16(x) __swab16(x)
#define __builtin_bswap32(x) __swab32(x)
#define __builtin_bswap64(x) __swab64(x)
#define cpu_to_le16(x) ((__le16)(__u16)(x))
#define cpu_to_le32(x) ((__le32)(__u32)(x))
#define cpu_to_le64(x) ((__le64)(__u64)(x))
#define le16_to_cpu(x) ((__u16)(__le16)(x))
#define le32_to_cpu(x) ((__u32)(__le32)(x))
#define le64_to_cpu(x) ((__u64)(__le64)(x))
#define cpu_to_be16(x) ((__be16)__swab16(x))
#define cpu_to_be32(x) ((__be32)__swab32(x))
#define cpu_to_be64(x) ((__be64)__swab64(x))
#define be16_to_cpu(x) __swab16((__u16)(__be16)(x))
#define be32_to_cpu(x) __swab32((__u32)(__be32)(x))
#define be64_to_cpu(x) __swab64((__u64)(__be64)(x))
#define le16_to_cpup(p) ((__u16)*(p))
#define le32_to_cpup(p) ((__u32)*(p))
#define cpu_to_le16p(p) ((__le16)*(p))
#define cpu_to_le32p(p) ((__le32)*(p))
#define le16_add_cpu(var, val) (*(var) = cpu_to_le16(le16_to_cpu(*(var)) + (val)))
#define le32_add_cpu(var, val) (*(var) = cpu_to_le32(le32_to_cpu(*(var)) + (val)))
