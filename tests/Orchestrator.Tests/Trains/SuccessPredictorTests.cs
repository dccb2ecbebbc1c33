using Orchestrator.Domain.Trains;
using Xunit;

namespace Orchestrator.Tests.Trains;

public class SuccessPredictorTests
{
    [Fact]
    public void Given_an_author_whose_recent_merge_requests_all_passed_when_predicting_then_success_is_certain_whatever_the_size()
    {
        Assert.Equal(1.0, SuccessPredictor.Predict(1.0, 5000, touchesImageInputs: true));
    }

    [Fact]
    public void Given_the_same_author_when_the_change_is_larger_or_touches_image_inputs_then_success_is_less_likely()
    {
        var small = SuccessPredictor.Predict(0.8, 50, false);
        var large = SuccessPredictor.Predict(0.8, 800, false);
        var image = SuccessPredictor.Predict(0.8, 50, true);
        Assert.True(large < small);
        Assert.True(image < small);
        Assert.Equal(0.05, SuccessPredictor.Predict(0.0, 10_000, true), 6);
    }

    [Fact]
    public void Given_a_newcomer_when_reading_the_pass_rate_then_the_prior_weighs_until_results_come_in()
    {
        Assert.Equal(0.9, SuccessPredictor.PassRate(0, 0), 6);
        Assert.True(SuccessPredictor.PassRate(0, 1) > 0.5);
        Assert.True(SuccessPredictor.PassRate(40, 0) > 0.98);
    }
}
