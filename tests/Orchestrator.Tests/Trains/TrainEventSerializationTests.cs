using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Domain.Trains;
using Orleans.Serialization;
using Xunit;
using static Orchestrator.Tests.Trains.TrainScript;

namespace Orchestrator.Tests.Trains;

public class TrainEventSerializationTests
{
    [Fact]
    public void Given_a_recorded_train_when_its_events_go_through_orleans_serialization_then_they_come_back_the_same_and_replay()
    {
        var train = Open(TrainStrategy.ImageAwareBestFirst, budget: 3)
            .JoinAll(Mr(1, bumps: ["build:T1"]), Mr(2, chance: 0.4), Mr(3, needs: ["build:T1"]));
        train.RunToEnd(breaking: 2);
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

        var copies = train.Events.Select(e => serializer.Deserialize<ITrainEvent>(serializer.SerializeToArray(e))!).ToList();

        Assert.Equal(train.Events.Select(e => JsonSerializer.Serialize(e, e.GetType())), copies.Select(e => JsonSerializer.Serialize(e, e.GetType())));
        Assert.True(TrainReplay.Run(copies).Consistent);
    }
}
