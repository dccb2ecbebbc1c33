using Orchestrator.Persistence;
using Xunit;

namespace Orchestrator.Tests.Persistence;

public sealed class RecentKeysTests
{
    [Fact]
    public void Given_keys_added_When_asked_Then_those_added_are_known_and_no_other()
    {
        var recent = new RecentKeys(4);

        recent.Add("14:a");
        recent.Add("14:b");

        Assert.True(recent.Contains("14:a"));
        Assert.True(recent.Contains("14:b"));
        Assert.False(recent.Contains("15:a"));
    }

    [Fact]
    public void Given_a_full_memory_When_one_more_key_is_added_Then_the_oldest_is_forgotten_and_the_count_stays_at_capacity()
    {
        var recent = new RecentKeys(3);
        foreach (var key in new[] { "a", "b", "c", "d" }) recent.Add(key);

        Assert.False(recent.Contains("a"));
        Assert.True(recent.Contains("b") && recent.Contains("c") && recent.Contains("d"));
        Assert.Equal(3, recent.Count);
    }

    [Fact]
    public void Given_a_key_added_twice_When_the_memory_fills_Then_it_takes_one_place_only()
    {
        var recent = new RecentKeys(2);

        recent.Add("a");
        recent.Add("a");
        recent.Add("b");

        Assert.True(recent.Contains("a") && recent.Contains("b"));
        Assert.Equal(2, recent.Count);
    }

    [Fact]
    public async Task Given_many_writers_and_readers_at_once_When_they_race_Then_the_memory_never_exceeds_its_capacity_and_keeps_the_newest()
    {
        var recent = new RecentKeys(1000);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                recent.Add($"{t}:{i}");
                _ = recent.Contains($"{t}:{i / 2}");
            }
        })));

        Assert.Equal(1000, recent.Count);
        Assert.Contains(Enumerable.Range(0, 8), t => recent.Contains($"{t}:4999"));
    }

    [Fact]
    public void Given_no_room_When_made_Then_it_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => new RecentKeys(0));
}
