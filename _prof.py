import asyncio, cProfile, pstats, time, uuid
from bench.mail_throughput import *
from infra import InfraSettings
async def direct(f, *a, **k): return f(*a, **k)
asyncio.to_thread = direct
async def run(infra, count):
    postgres.drop_database(infra, DATABASE); postgres.ensure_database(infra, DATABASE)
    settings = NotificationsSettings(pg_host=infra.pg_host, pg_port=infra.pg_port, pg_database=DATABASE, pg_user=infra.pg_user, pg_password=infra.pg_password, smtp_host=infra.smtp_host, smtp_port=infra.smtp_port)
    app = NotificationsApplication(settings.event_store_env())
    owe_welcomes(app, count)
    from runtime.mail import SmtpMailer; mailer = NotificationMailer(app, SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from))
    pr = cProfile.Profile(); pr.enable()
    t=time.perf_counter(); c=time.process_time()
    while await mailer.step(): pass
    pr.disable()
    print("elapsed", time.perf_counter()-t, "cpu/mail ms", (time.process_time()-c)/count*1000)
    st = pstats.Stats(pr, stream=open("/tmp/prof.txt","w")); st.sort_stats("tottime").print_stats(40)
    st = pstats.Stats(pr, stream=open("/tmp/prof_cum.txt","w")); st.sort_stats("cumtime").print_stats(60)
    app.close()
asyncio.run(run(InfraSettings(), 500))
