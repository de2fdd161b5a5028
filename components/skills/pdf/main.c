/* The PDF skill: the text of a PDF the Brain sends as a job (pdf.c), or an error in words.
 * On the bases without a channel to the Brain (stand-ins, seL4 protection domains for now)
 * it only announces itself. */
#include "console.h"
#include "pdf.h"

#if __has_include("hive/skill.h")
#include "hive/skill.h"
#endif

void skill_main(void)
{
    console_puts("pdf: text extraction, plain and Flate content streams\n");
}

#ifdef HIVE_JOB_DONE
int skill_job(const unsigned char *job, unsigned long length, unsigned char *answer,
              unsigned long capacity, unsigned long *answer_length)
{
    if (pdf_text(job, length, (char *)answer, capacity, answer_length) == 0)
        return HIVE_JOB_DONE;
    return HIVE_JOB_ERROR;
}
#endif
