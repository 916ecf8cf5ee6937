package seed

import (
	"math/bits"
	"math/rand/v2"
	"sort"
)

// stream names an independent random stream. Each aspect of a citizen (personal data,
// accounts and bills, insurance, applications, messages) draws from its own stream keyed by
// the citizen's index, so any aspect of any citizen can be regenerated on its own, in any pass,
// and always comes out the same.
type stream uint64

const (
	streamCore stream = iota + 1
	streamAccounts
	streamInsurance
	streamApplications
	streamEngagement
	streamStatic
	streamNonce
	streamPermutation
)

// splitmix64 is a bijective 64-bit mixer; it turns the seed and a stream name into
// well-spread PCG seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamKey is the first PCG seed word of stream s under the data set's seed.
func streamKey(seed int64, s stream) uint64 {
	return splitmix64(splitmix64(uint64(seed)) ^ uint64(s)*0xd6e8feb86659fd93)
}

// source is a reusable generator for one stream: reseeding it for citizen i costs nothing
// and allocates nothing.
type source struct {
	key uint64
	pcg *rand.PCG
	r   *rand.Rand
}

func newSource(seed int64, s stream) *source {
	pcg := rand.NewPCG(0, 0)
	return &source{key: streamKey(seed, s), pcg: pcg, r: rand.New(pcg)}
}

// at returns the stream's generator positioned at the start of entity i.
func (s *source) at(i int) *rand.Rand {
	s.pcg.Seed(s.key, splitmix64(uint64(i)))
	return s.r
}

// weighted picks values with given relative weights.
type weighted[T any] struct {
	values []T
	cum    []int
}

// choice is one value with its relative weight.
type choice[T any] struct {
	v T
	w int
}

func newWeighted[T any](cs ...choice[T]) weighted[T] {
	var w weighted[T]
	total := 0
	for _, c := range cs {
		total += c.w
		w.values = append(w.values, c.v)
		w.cum = append(w.cum, total)
	}
	return w
}

func (w weighted[T]) pick(r *rand.Rand) T {
	n := r.IntN(w.cum[len(w.cum)-1])
	return w.values[sort.SearchInts(w.cum, n+1)]
}

// permutation is a seeded bijection of [0, n): i ↦ (a·i + b) mod n with a coprime to n. It
// hands out unique numbers (mobiles, account and case numbers) without remembering which
// were used.
type permutation struct {
	n, a, b uint64
}

func newPermutation(seed int64, salt, n uint64) permutation {
	x := splitmix64(streamKey(seed, streamPermutation) ^ salt)
	third := max(n/3, 1)
	a := third + x%third
	for gcd(a, n) != 1 {
		a++
	}
	return permutation{n: n, a: a, b: splitmix64(x) % n}
}

// of returns the image of i, which must be below n.
func (p permutation) of(i uint64) uint64 {
	hi, lo := bits.Mul64(p.a, i)
	_, r := bits.Div64(hi%p.n, lo, p.n)
	return (r + p.b) % p.n
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// between returns a uniform integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
