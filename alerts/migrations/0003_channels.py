# Channels: a subscription posts to a webhook, Slack or Discord instead of mailing (its
# email is then the owner's), with a signing secret and a count of failures in a row; the
# outbox of owner emails also carries "your channel was disabled".

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0002_delivery_episodes'),
        ('reports', '0003_network_evidence'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='subscription',
            name='subscription_unique',
        ),
        migrations.AddField(
            model_name='confirmationdelivery',
            name='purpose',
            field=models.CharField(choices=[('confirm', 'Confirmation link'), ('disabled', 'Channel disabled')], default='confirm', max_length=10),
        ),
        migrations.AddField(
            model_name='subscription',
            name='channel',
            field=models.CharField(choices=[('email', 'Email'), ('webhook', 'Webhook'), ('slack', 'Slack'), ('discord', 'Discord')], default='email', max_length=10),
        ),
        migrations.AddField(
            model_name='subscription',
            name='failures',
            field=models.PositiveSmallIntegerField(default=0, help_text='Permanent failures in a row; the channel is disabled at a limit.'),
        ),
        migrations.AddField(
            model_name='subscription',
            name='secret',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name='subscription',
            name='secret_shown_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='subscription',
            name='url',
            field=models.URLField(blank=True, help_text='Where webhooks are posted.', max_length=2000),
        ),
        migrations.AddConstraint(
            model_name='subscription',
            constraint=models.UniqueConstraint(fields=('email', 'service', 'channel', 'url'), name='subscription_unique'),
        ),
    ]
